// Package e2e replays the Kubernetes federation walkthrough end to end, as a user would: it
// drives the real kfed binary (`kfed dev up`, `kfed status`, `kfed join`, `kfed unjoin`,
// `kfed dev down`) and kubectl against a local federation of full member clusters (API server,
// controller manager, scheduler, kwok fake nodes), and checks the results with a client of its
// own. One federation is started for the whole package: see TestWalkthrough.
package e2e
