// Command k8scheck decodes the Kubernetes examples strictly into the upstream
// API types (k8s.io/api), so that a misspelt or misplaced field is an error,
// and checks what the examples promise: every container runs the image that
// docs/examples/Containerfile builds, under a pinned tag, and nothing runs as
// root. The sweep's CronJob (cronjob.yaml): an init container creates the
// vault when it is missing; the vault and the pins are on volumes. The
// server's Deployment (serve.yaml): at least two replicas of notevault
// serve, its state on a volume they can all write, a readiness probe on
// /healthz, and a Service that selects them.
//
// It is a module of its own so that notevault does not depend on the
// Kubernetes API. Run it through docs/examples/check.sh, or:
//
//	cd docs/examples/k8scheck && go run . ../cronjob.yaml ../Containerfile
//	cd docs/examples/k8scheck && go run . ../serve.yaml ../Containerfile
package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck MANIFEST.yaml Containerfile")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "k8scheck: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// buildTag finds the tag the Containerfile's build instructions give.
var buildTag = regexp.MustCompile(`(?m)^#\s+podman build .*-t (\S+)`)

func run(manifest, containerfile string) error {
	cf, err := os.ReadFile(containerfile)
	if err != nil {
		return err
	}
	m := buildTag.FindSubmatch(cf)
	if m == nil {
		return fmt.Errorf("%s: no `podman build ... -t IMAGE` line to name the image", containerfile)
	}
	image := string(m[1])
	data, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	var (
		kinds    []string
		claims   = map[string]*corev1.PersistentVolumeClaim{}
		jobs     []*batchv1.CronJob
		deploys  []*appsv1.Deployment
		services []*corev1.Service
	)
	for i, doc := range splitDocuments(data) {
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "batch/v1 CronJob":
			job := new(batchv1.CronJob)
			jobs, obj = append(jobs, job), job
		case "apps/v1 Deployment":
			d := new(appsv1.Deployment)
			deploys, obj = append(deploys, d), d
		case "v1 Service":
			svc := new(corev1.Service)
			services, obj = append(services, svc), svc
		case "v1 PersistentVolumeClaim":
			obj = new(corev1.PersistentVolumeClaim)
		default:
			return fmt.Errorf("document %d: %s %s is not a kind this check knows", i+1, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return fmt.Errorf("document %d (%s): %w", i+1, meta.Kind, err)
		}
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			claims[pvc.Name] = pvc
		}
		kinds = append(kinds, meta.Kind)
	}
	if len(jobs)+len(deploys) == 0 {
		return errors.New("no CronJob and no Deployment")
	}
	for _, job := range jobs {
		if err := checkCronJob(job, image, claims); err != nil {
			return fmt.Errorf("CronJob %s: %w", job.Name, err)
		}
	}
	for _, d := range deploys {
		if err := checkServe(d, services, image, claims); err != nil {
			return fmt.Errorf("Deployment %s: %w", d.Name, err)
		}
	}
	fmt.Printf("k8scheck: %s: %s decoded strictly; every container runs %s\n", manifest, strings.Join(kinds, ", "), image)
	return nil
}

// splitDocuments splits a YAML stream on its --- lines, dropping documents
// that hold only comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		for _, line := range strings.Split(doc, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, []byte(doc))
				break
			}
		}
	}
	return docs
}

// checkPod checks what every pod of the examples promises: a numeric
// non-root user, volumes kubelet leaves private, claims the file defines,
// the Containerfile's image under a pinned tag, no privilege and a
// read-only root. It returns the volumes that are claims, by name.
func checkPod(pod corev1.PodSpec, image string, claims map[string]*corev1.PersistentVolumeClaim) (map[string]*corev1.PersistentVolumeClaim, error) {
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		return nil, errors.New("the pod does not run as a numeric non-root user (runAsNonRoot, runAsUser)")
	}
	if sc.FSGroupChangePolicy == nil || *sc.FSGroupChangePolicy != corev1.FSGroupChangeOnRootMismatch {
		return nil, errors.New("fsGroupChangePolicy is not OnRootMismatch: kubelet would make the vault group-writable, which notevault refuses")
	}
	volumes := map[string]*corev1.PersistentVolumeClaim{}
	for _, v := range pod.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			pvc := claims[v.PersistentVolumeClaim.ClaimName]
			if pvc == nil {
				return nil, fmt.Errorf("volume %s names claim %s, which the file does not define", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
			volumes[v.Name] = pvc
		case v.Secret == nil:
			return nil, fmt.Errorf("volume %s is neither a PersistentVolumeClaim nor a Secret: what notevault keeps must outlive the pod", v.Name)
		}
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		if c.Image != image {
			return nil, fmt.Errorf("container %s runs %q, not %q, the image the Containerfile builds", c.Name, c.Image, image)
		}
		if !pinned(c.Image) {
			return nil, fmt.Errorf("container %s: image %q has no pinned tag", c.Name, c.Image)
		}
		csc := c.SecurityContext
		if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
			csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			return nil, fmt.Errorf("container %s may escalate privileges or write its root file system", c.Name)
		}
	}
	return volumes, nil
}

func checkCronJob(job *batchv1.CronJob, image string, claims map[string]*corev1.PersistentVolumeClaim) error {
	if job.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		return errors.New("concurrencyPolicy is not Forbid: two sweeps would contend for the vault")
	}
	pod := job.Spec.JobTemplate.Spec.Template.Spec
	volumes, err := checkPod(pod, image, claims)
	if err != nil {
		return err
	}
	if len(pod.InitContainers) != 1 || !slices.Equal(pod.InitContainers[0].Args, []string{"init", "--if-missing"}) {
		return errors.New(`no init container runs notevault init --if-missing: a fresh volume has no vault`)
	}
	if len(pod.Containers) != 1 || !slices.Equal(pod.Containers[0].Args, []string{"retention", "sweep"}) {
		return errors.New("the one container does not run notevault retention sweep")
	}
	var dir string
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		for _, name := range []string{"NOTEVAULT_DIR", "NOTEVAULT_STATE_DIR"} {
			p := env[name]
			if p == "" {
				return fmt.Errorf("container %s does not set %s", c.Name, name)
			}
			if !onVolume(p, c.VolumeMounts, volumes) {
				return fmt.Errorf("container %s: %s=%s is on no volume", c.Name, name, p)
			}
		}
		if dir != "" && env["NOTEVAULT_DIR"] != dir {
			return fmt.Errorf("container %s uses the vault %s, the others %s", c.Name, env["NOTEVAULT_DIR"], dir)
		}
		dir = env["NOTEVAULT_DIR"]
	}
	return nil
}

// checkServe checks the server's Deployment: replicas of notevault serve,
// their --state on a claim they can all write, a readiness probe on
// /healthz, and a Service that selects their pods.
func checkServe(d *appsv1.Deployment, services []*corev1.Service, image string, claims map[string]*corev1.PersistentVolumeClaim) error {
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		return errors.New("fewer than 2 replicas: a replica's restart would take the vault down")
	}
	pod := d.Spec.Template.Spec
	volumes, err := checkPod(pod, image, claims)
	if err != nil {
		return err
	}
	if len(pod.Containers) != 1 || len(pod.Containers[0].Args) == 0 || pod.Containers[0].Args[0] != "serve" {
		return errors.New("the one container does not run notevault serve")
	}
	c := pod.Containers[0]
	var state string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--state="); ok {
			state = v
		}
	}
	if state == "" {
		return errors.New("serve has no --state=DIR: the KEK versions and the destruction ledger would be lost with the pod")
	}
	if !onVolume(state, c.VolumeMounts, volumes) {
		return fmt.Errorf("--state=%s is on no volume", state)
	}
	for _, m := range c.VolumeMounts {
		if pvc := volumes[m.Name]; pvc != nil && !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			return fmt.Errorf("claim %s is not ReadWriteMany: the replicas share the KEK and the ledger", pvc.Name)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		return errors.New("no readiness probe on /healthz: a replica without its database would get requests")
	}
	for _, svc := range services {
		selects := len(svc.Spec.Selector) > 0
		for k, v := range svc.Spec.Selector {
			selects = selects && d.Spec.Template.Labels[k] == v
		}
		if selects {
			return nil
		}
	}
	return errors.New("no Service selects its pods")
}

// onVolume reports whether p lies on one of the mounted claims.
func onVolume(p string, mounts []corev1.VolumeMount, volumes map[string]*corev1.PersistentVolumeClaim) bool {
	for _, m := range mounts {
		if volumes[m.Name] != nil && !m.ReadOnly && (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) {
			return true
		}
	}
	return false
}

// pinned reports whether image names one build: a tag other than latest, or
// a digest.
func pinned(image string) bool {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return strings.HasPrefix(digest, "sha256:")
	}
	_, tag, ok := strings.Cut(path.Base(image), ":")
	return ok && tag != "" && tag != "latest"
}
