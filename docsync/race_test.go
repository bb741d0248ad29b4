//go:build race

package docsync_test

const raceEnabled = true
