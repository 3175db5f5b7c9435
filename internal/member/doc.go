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
package member
