package controllers_test

import (
	"testing"

	"github.com/kfed-io/kfed/test/framework"
)

// kubectl runs bin/kubectl against the host (framework.Kubectl).
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	return framework.Kubectl(t, fed.Host, args...)
}

// kubectlRun is kubectl that returns the error instead of ending the test.
func kubectlRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return framework.KubectlRun(t, fed.Host, args...)
}

// tableCell reads one cell of kubectl get's one-row table (framework.TableCell).
func tableCell(t *testing.T, out, column string) string {
	t.Helper()
	return framework.TableCell(t, out, column)
}
