package vault

import (
	"encoding/json"
	"reflect"
)

// sigBytes is what a person signs for a record: a domain string naming the
// kind of record, then the record's JSON with its Verified flag cleared (the
// flag is computed, never stored or signed).
func sigBytes(kind string, rec any) []byte {
	rv := reflect.ValueOf(&rec).Elem().Elem()
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	if f := cp.FieldByName("Verified"); f.IsValid() && f.CanSet() {
		f.SetBool(false)
	}
	b, err := json.Marshal(cp.Interface())
	if err != nil {
		// The record types are plain structs; Marshal cannot fail on them.
		return nil
	}
	return append([]byte("notevault "+kind+" v1\n"), b...)
}
