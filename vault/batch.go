package vault

import (
	"errors"

	"github.com/notevault/notevault/vault/kv"
)

// inBatches runs fn over items in transactions of at most max items each,
// in order. A batch the store refuses as too large for one transaction is
// split in two and tried again, down to a single item, so records of any
// size and number go through without a guess at how many fit. done, when
// not nil, is told after each committed batch how many items it held.
func (v *Vault) inBatches(items []string, max int, fn func(txn kv.Txn, batch []string) error, done func(n int) error) error {
	for len(items) > 0 {
		n := min(max, len(items))
		for {
			err := v.update(func(txn kv.Txn) error { return fn(txn, items[:n]) })
			if errors.Is(err, kv.ErrTooBig) && n > 1 {
				n /= 2
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		if done != nil {
			if err := done(n); err != nil {
				return err
			}
		}
		items = items[n:]
	}
	return nil
}
