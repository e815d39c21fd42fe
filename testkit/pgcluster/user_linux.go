package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osUser is the account the server runs as. The zero value means "the
// current user" (no switch).
type osUser struct {
	name     string
	uid, gid uint32
	switched bool
}

// serverOwner picks the account initdb and postgres run as: the current
// user, or an unprivileged one when we are root (PostgreSQL refuses root).
func serverOwner() (osUser, error) {
	if os.Geteuid() != 0 {
		return osUser{}, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return osUser{name: name, uid: uint32(uid), gid: uint32(gid), switched: true}, nil
	}
	return osUser{}, errors.New("pgcluster: running as root and no unprivileged user (postgres or nobody) exists to run the server as; create one with: useradd --system postgres")
}

func (u osUser) attr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if u.switched {
		a.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}
	}
	return a
}

// own hands path (recursively) to the server account and checks that the
// account can reach it through its parent directories.
func (u osUser) own(path string) error {
	if !u.switched {
		return nil
	}
	err := filepath.WalkDir(path, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.uid), int(u.gid))
	})
	if err != nil {
		return fmt.Errorf("pgcluster: hand %s to user %s: %w", path, u.name, err)
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Uid != u.uid {
				return fmt.Errorf("pgcluster: user %s cannot reach %s: directory %s is not searchable by others (chmod o+x %s, or choose another directory)", u.name, path, dir, dir)
			}
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}
