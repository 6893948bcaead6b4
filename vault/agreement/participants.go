package agreement

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/notevault/notevault/policy"
)

// Roles a registered participant may have, as CheckParticipants expects them.
const (
	RoleMentor     = "mentor"
	RoleMentee     = "mentee"
	RoleSupervisor = "supervisor"
)

// CheckParticipants checks that the mentor, the mentee and every supervisor
// are registered participants with the matching role. roleOf reports the
// role of a registered participant and false for an unknown name. The error
// is an *Error naming the field and, for a parsed agreement, the line.
func (a *Agreement) CheckParticipants(roleOf func(name string) (role string, ok bool)) error {
	if roleOf == nil {
		return errors.New("agreement: no participant registry to check against")
	}
	check := func(field, lineKey, name, want string) error {
		role, ok := roleOf(name)
		line := a.lines[lineKey]
		if !ok {
			return &Error{Line: line, Field: field, Msg: fmt.Sprintf("%q is not a registered participant (add them with: notevault participant add %s --role %s --key ...)", name, name, want)}
		}
		if role != want {
			return &Error{Line: line, Field: field, Msg: fmt.Sprintf("%q is registered as %s, not as %s", name, describeRole(role), want)}
		}
		return nil
	}
	if err := check("mentor", "mentor", a.Mentor, RoleMentor); err != nil {
		return err
	}
	if err := check("mentee", "mentee", a.Mentee, RoleMentee); err != nil {
		return err
	}
	for i, s := range a.Supervisors {
		if err := check("supervisors", supervisorKey(i), s, RoleSupervisor); err != nil {
			return err
		}
	}
	return nil
}

func describeRole(role string) string {
	if role == "" {
		return "no role"
	}
	return fmt.Sprintf("%q", role)
}

// Terms returns the policy terms of this agreement as version version of
// the agreement with id id. The result shares no memory with a.
func (a *Agreement) Terms(id string, version int) policy.Terms {
	readers := make(map[policy.Kind][]string, len(a.Confidentiality.Readers))
	for k, r := range a.Confidentiality.Readers {
		readers[k] = slices.Clone(r)
	}
	var retention map[policy.Kind]time.Duration
	if a.Retention != nil {
		retention = maps.Clone(a.Retention)
	}
	var recipients map[string][]string
	if len(a.Confidentiality.Exceptions) > 0 {
		// Every exception is a key; the list form maps to nil, meaning the
		// agreement's supervisors.
		recipients = make(map[string][]string, len(a.Confidentiality.Exceptions))
		for _, e := range a.Confidentiality.Exceptions {
			recipients[e] = slices.Clone(a.Confidentiality.Recipients[e])
		}
	}
	return policy.Terms{
		Agreement:           id,
		Version:             version,
		Mentor:              a.Mentor,
		Mentee:              a.Mentee,
		Supervisors:         slices.Clone(a.Supervisors),
		Readers:             readers,
		Exceptions:          slices.Clone(a.Confidentiality.Exceptions),
		Retention:           retention,
		Custodians:          slices.Clone(a.Custodians),
		ExceptionRecipients: recipients,
		MaxGrant:            a.Sharing.MaxGrant,
		MaxConsent:          a.Sharing.MaxConsent,
		AfterClose:          a.AfterClose,
		Start:               a.Start,
		End:                 a.End,
	}
}
