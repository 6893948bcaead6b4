package vault

import (
	"encoding/json"
	"reflect"
)

// sigBytes is what a person signs for a record: a domain string naming the
// kind of record, then the record's JSON with its Verified flag cleared (the
// flag is computed, never trusted from storage) and its end fields cleared:
// withdrawing a consent or revoking a grant only narrows access, so it needs
// no signature of the original signer, and it must not invalidate the record.
func sigBytes(kind string, rec any) []byte {
	rv := reflect.ValueOf(&rec).Elem().Elem()
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	for _, name := range []string{"Verified", "WithdrawnAt", "RevokedAt"} {
		if f := cp.FieldByName(name); f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	b, err := json.Marshal(cp.Interface())
	if err != nil {
		// The record types are plain structs; Marshal cannot fail on them.
		return nil
	}
	return append([]byte("notevault "+kind+" v1\n"), b...)
}
