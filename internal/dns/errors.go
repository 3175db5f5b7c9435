package dns

import (
	"errors"
	"fmt"
)

// Reasons a Provider gives for a failure, so that a controller can set a condition's reason
// without parsing messages. They are the reasons of the FederatedDomain's Ready condition.
const (
	// ReasonProviderUnreachable: the DNS server, etcd or API server did not answer in time or
	// refused the connection.
	ReasonProviderUnreachable = "ProviderUnreachable"
	// ReasonUnauthorized: the server refused the credentials (a wrong TSIG key or secret,
	// BADKEY, BADSIG, NOTAUTH, REFUSED, an etcd or Kubernetes permission error).
	ReasonUnauthorized = "Unauthorized"
	// ReasonZoneNotFound: the server does not serve the zone (NOTZONE, or no SOA for it).
	ReasonZoneNotFound = "ZoneNotFound"
	// ReasonCRDMissing: the host has no DNSEndpoint CustomResourceDefinition.
	ReasonCRDMissing = "CRDMissing"
	// ReasonConflict: another writer changed the records between the read and the write (a
	// failed prerequisite or transaction guard); reading again and re-planning resolves it.
	ReasonConflict = "Conflict"
	// ReasonInvalidRecord: the Changes hold a record the provider cannot write (a bad address,
	// a name outside the zone, a set identifier where the provider has none).
	ReasonInvalidRecord = "InvalidRecord"
	// ReasonProviderError: the server answered with another failure.
	ReasonProviderError = "ProviderError"
)

// ProviderError is a classified Provider failure. Its message names the server and the
// credentials' name (a TSIG key name, a Secret), never the key material.
type ProviderError struct {
	reason string
	msg    string
	err    error
}

// NewProviderError returns a ProviderError with the reason, a message made with
// fmt.Sprintf(format, args...) and the cause, which Error appends and Unwrap returns. The
// message must not contain a secret.
func NewProviderError(reason string, cause error, format string, args ...any) *ProviderError {
	return &ProviderError{reason: reason, msg: fmt.Sprintf(format, args...), err: cause}
}

// Reason is one of the Reason constants.
func (e *ProviderError) Reason() string { return e.reason }

// Error is the message and then the cause.
func (e *ProviderError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

// Unwrap returns the cause.
func (e *ProviderError) Unwrap() error { return e.err }

// ReasonOf returns the reason of the first ProviderError in err's chain, or ReasonProviderError
// when there is none (an unclassified failure), or "" for a nil error.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.reason
	}
	return ReasonProviderError
}

// CheckChanges is the check every Provider's ApplyChanges starts with: UpdateOld and UpdateNew
// pair up. where names the provider for the message.
func CheckChanges(where string, c *Changes) error {
	if c != nil && len(c.UpdateOld) != len(c.UpdateNew) {
		return NewProviderError(ReasonInvalidRecord, nil, "%s: %d old and %d new records in the update", where, len(c.UpdateOld), len(c.UpdateNew))
	}
	return nil
}
