// Command k8scheck decodes the Kubernetes example strictly into the upstream
// API types (k8s.io/api), so that a misspelt or misplaced field is an error,
// and checks what the example promises: every container runs the image that
// docs/examples/Containerfile builds, under a pinned tag; an init container
// creates the vault when it is missing; the vault and the pins are on
// volumes; nothing runs as root.
//
// It is a module of its own so that notevault does not depend on the
// Kubernetes API. Run it through docs/examples/check.sh, or:
//
//	cd docs/examples/k8scheck && go run . ../cronjob.yaml ../Containerfile
package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

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
	var kinds []string
	var claims []string
	var jobs []*batchv1.CronJob
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
		case "v1 PersistentVolumeClaim":
			obj = new(corev1.PersistentVolumeClaim)
		default:
			return fmt.Errorf("document %d: %s %s is not a kind this check knows", i+1, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return fmt.Errorf("document %d (%s): %w", i+1, meta.Kind, err)
		}
		if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			claims = append(claims, pvc.Name)
		}
		kinds = append(kinds, meta.Kind)
	}
	if len(jobs) == 0 {
		return errors.New("no CronJob")
	}
	for _, job := range jobs {
		if err := checkCronJob(job, image, claims); err != nil {
			return fmt.Errorf("CronJob %s: %w", job.Name, err)
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

func checkCronJob(job *batchv1.CronJob, image string, claims []string) error {
	if job.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		return errors.New("concurrencyPolicy is not Forbid: two sweeps would contend for the vault")
	}
	pod := job.Spec.JobTemplate.Spec.Template.Spec
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		return errors.New("the pod does not run as a numeric non-root user (runAsNonRoot, runAsUser)")
	}
	if sc.FSGroupChangePolicy == nil || *sc.FSGroupChangePolicy != corev1.FSGroupChangeOnRootMismatch {
		return errors.New("fsGroupChangePolicy is not OnRootMismatch: kubelet would make the vault group-writable, which notevault refuses")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim == nil {
			return fmt.Errorf("volume %s is not a PersistentVolumeClaim: the vault and the pins must outlive the pod", v.Name)
		}
		if !slices.Contains(claims, v.PersistentVolumeClaim.ClaimName) {
			return fmt.Errorf("volume %s names claim %s, which the file does not define", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
		volumes[v.Name] = true
	}
	if len(pod.InitContainers) != 1 || !slices.Equal(pod.InitContainers[0].Args, []string{"init", "--if-missing"}) {
		return errors.New(`no init container runs notevault init --if-missing: a fresh volume has no vault`)
	}
	if len(pod.Containers) != 1 || !slices.Equal(pod.Containers[0].Args, []string{"retention", "sweep"}) {
		return errors.New("the one container does not run notevault retention sweep")
	}
	var dir string
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		if c.Image != image {
			return fmt.Errorf("container %s runs %q, not %q, the image the Containerfile builds", c.Name, c.Image, image)
		}
		if !pinned(c.Image) {
			return fmt.Errorf("container %s: image %q has no pinned tag", c.Name, c.Image)
		}
		csc := c.SecurityContext
		if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
			csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			return fmt.Errorf("container %s may escalate privileges or write its root file system", c.Name)
		}
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

// onVolume reports whether p lies on one of the mounted volumes.
func onVolume(p string, mounts []corev1.VolumeMount, volumes map[string]bool) bool {
	for _, m := range mounts {
		if volumes[m.Name] && !m.ReadOnly && (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) {
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
