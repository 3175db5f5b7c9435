package status_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfed-io/kfed/internal/cli/status"
)

func TestRender(t *testing.T) {
	r := &status.Report{
		Clusters: []status.Cluster{
			{Name: "us", Ready: "True", Region: "us-east1", Zones: []string{"us-east1-b"}, Version: "v1.37.2", Nodes: 2},
			{Name: "asia", Ready: "False (ProbeFailed)"},
		},
		Objects: []status.Object{
			{Kind: "FederatedDeployment", Namespace: "web", Name: "k8shserver", Ready: "False (Propagating)", Workload: true,
				Clusters: []status.Placement{
					{Cluster: "us", Phase: "Propagated", Replicas: 500, ReadyReplicas: 500},
					{Cluster: "asia", Phase: "ClusterNotReady"},
				}},
			{Kind: "ClusterFederatedObject", Name: "clusterrole-reader", Ready: "True",
				Clusters: []status.Placement{{Cluster: "us", Phase: "Propagated"}}},
		},
	}
	var b bytes.Buffer
	if err := status.Render(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `NAME   READY                 REGION     ZONES        VERSION   NODES
us     True                  us-east1   us-east1-b   v1.37.2   2
asia   False (ProbeFailed)   -          -            -         0

KIND                     NAMESPACE   NAME                 READY                 CLUSTERS                   REPLICAS
FederatedDeployment      web         k8shserver           False (Propagating)   1/2 asia:ClusterNotReady   us=500/500,asia=0/0
ClusterFederatedObject   -           clusterrole-reader   True                  1/1                        -
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRenderEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := status.Render(&b, &status.Report{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte("no clusters joined")) || !bytes.Contains(b.Bytes(), []byte("no federated objects")) {
		t.Errorf("want hints for an empty federation, got:\n%s", b.String())
	}
}
