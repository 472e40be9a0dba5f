//go:build !unix

package filewriter

// oNoFollow is 0 where the system has no O_NOFOLLOW: openFile's Lstat
// check alone refuses a symbolic link there.
const oNoFollow = 0
