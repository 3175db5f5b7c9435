// Package status reads the federation's state from the host and renders it as tables.
package status

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/api/v1alpha1"
	"github.com/kfed-io/kfed/internal/kinds"
)

// Cluster is one row of the clusters table.
type Cluster struct {
	Name, Ready, Region, Version string
	Zones                        []string
	Nodes                        int32
}

// Placement is an object's state in one cluster.
type Placement struct {
	Cluster, Phase          string
	Replicas, ReadyReplicas int32
}

// Object is one row of the federated objects table.
type Object struct {
	Kind, Namespace, Name, Ready string
	// Workload is true for kinds with replicas.
	Workload bool
	Clusters []Placement
}

// Report is what Collect read.
type Report struct {
	Clusters []Cluster
	Objects  []Object
}

// federated is what every federated kind offers.
type federated interface {
	client.Object
	FederatedKind() string
	GetFederatedStatus() *v1alpha1.FederatedStatus
}

// Collect reads every FederatedCluster and federated object in the host.
func Collect(ctx context.Context, c client.Client) (*Report, error) {
	var fcs v1alpha1.FederatedClusterList
	if err := c.List(ctx, &fcs); err != nil {
		return nil, fmt.Errorf("listing FederatedClusters in the host: %w", err)
	}
	r := &Report{}
	for _, fc := range fcs.Items {
		r.Clusters = append(r.Clusters, Cluster{
			Name: fc.Name, Ready: readyOf(fc.Status.Conditions), Region: fc.Status.Region,
			Zones: fc.Status.Zones, Version: fc.Status.KubernetesVersion, Nodes: fc.Status.Nodes,
		})
	}
	for _, k := range kinds.All {
		l := k.NewList()
		if err := c.List(ctx, l); err != nil {
			return nil, fmt.Errorf("listing %T in the host: %w", l, err)
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return nil, fmt.Errorf("reading %T: %w", l, err)
		}
		for _, item := range items {
			o, ok := item.(federated)
			if !ok {
				return nil, fmt.Errorf("%T is not a federated kind", item)
			}
			r.Objects = append(r.Objects, objectRow(o, k.Workload))
		}
	}
	return r, nil
}

func objectRow(o federated, workload bool) Object {
	st := o.GetFederatedStatus()
	row := Object{
		Kind: o.FederatedKind(), Namespace: o.GetNamespace(), Name: o.GetName(),
		Ready: readyOf(st.Conditions), Workload: workload,
	}
	for _, cs := range st.Clusters {
		row.Clusters = append(row.Clusters, Placement{Cluster: cs.Name, Phase: string(cs.Phase), Replicas: cs.Replicas, ReadyReplicas: cs.ReadyReplicas})
	}
	return row
}

func readyOf(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, v1alpha1.ConditionReady); c != nil {
		if c.Status == "True" {
			return "True"
		}
		return string(c.Status) + " (" + c.Reason + ")"
	}
	return "Unknown"
}

// Render writes the report as two tables.
func Render(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tREADY\tREGION\tZONES\tVERSION\tNODES")
	if len(r.Clusters) == 0 {
		_, _ = fmt.Fprintln(tw, "(no clusters joined: see `kfed join --help`)")
	}
	for _, c := range r.Clusters {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", c.Name, c.Ready, dash(c.Region), dash(strings.Join(c.Zones, ",")), dash(c.Version), c.Nodes)
	}
	_, _ = fmt.Fprintln(tw)
	_, _ = fmt.Fprintln(tw, "KIND\tNAMESPACE\tNAME\tREADY\tCLUSTERS\tREPLICAS")
	if len(r.Objects) == 0 {
		_, _ = fmt.Fprintln(tw, "(no federated objects: see `kfed federate --help`)")
	}
	for _, o := range r.Objects {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Kind, dash(o.Namespace), o.Name, o.Ready, clustersColumn(o), replicasColumn(o))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the status: %w", err)
	}
	return nil
}

// clustersColumn is "<propagated>/<placed>" and the phase of each cluster that is not Propagated.
func clustersColumn(o Object) string {
	propagated := 0
	var others []string
	for _, p := range o.Clusters {
		if p.Phase == string(v1alpha1.PhasePropagated) {
			propagated++
		} else {
			others = append(others, p.Cluster+":"+dash(p.Phase))
		}
	}
	s := fmt.Sprintf("%d/%d", propagated, len(o.Clusters))
	if len(others) > 0 {
		s += " " + strings.Join(others, ",")
	}
	return s
}

// replicasColumn is "<cluster>=<ready>/<replicas>" per cluster, for workloads.
func replicasColumn(o Object) string {
	if !o.Workload || len(o.Clusters) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(o.Clusters))
	for _, p := range o.Clusters {
		parts = append(parts, fmt.Sprintf("%s=%d/%d", p.Cluster, p.ReadyReplicas, p.Replicas))
	}
	return strings.Join(parts, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
