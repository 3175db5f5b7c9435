// Package member keeps kfed's connections to member clusters.
//
// A Registry holds one entry per joined cluster. Each entry probes the member's /readyz every
// period with its timeout and turns the results into a Health, flipping Ready only after
// FailureThreshold failures or SuccessThreshold successes in a row. Once a member is Ready the
// entry starts a cache (Nodes first; the controllers to come add their own informers) and a
// client; they stay up while the member is down, so that a recovered member is back at once,
// and stop when the cluster is removed or its credentials change.
//
// All access to members goes through the Registry: Client and Cache answer a fast
// ErrClusterNotConnected for a member that is unknown, NotReady or not yet synced, so no worker
// ever blocks on a dead cluster. Subscribers registered with OnChange hear the name of a
// cluster whenever what Health reports of it changes; a steady member causes no notifications.
//
// Member objects reach consumers two ways. Watch and OnObject are the propagation controllers':
// every kind watched, in one cache per member that holds only objects labelled managed, and
// every change heard by every OnObject subscriber; Client reads from that cache. WatchFor is a
// consumer's own: a kind, a label selector (any, not only managed), a handler and a form
// (typed, unstructured or metadata only), run in every member now and to come in a cache of its
// own, read through Watch.Reader; no consumer hears of or reads another's objects. Caches drop
// what no consumer reads: every managedFields entry of nodes and of a WatchFor cache, except
// those of the field manager it names (WatchSpec.KeepManagedFieldsOf, Options.FieldManager).
package member
