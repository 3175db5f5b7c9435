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
// Member objects reach consumers through WatchFor: a kind, a label selector (any, not only
// managed), a handler and a form (typed, unstructured or metadata only), run in every member
// now and to come in a cache of its own, read through Watch.Reader (Watch.WaitReader waits for
// a watch new to a member to sync); no consumer hears of or reads another's objects.
// Propagation's watches choose the objects labelled managed, one per member kind. Client reads
// managed objects and nodes from the member's own cache. Caches drop what no consumer reads:
// every managedFields entry, except those of the field manager a watch names
// (WatchSpec.KeepManagedFieldsOf).
package member
