package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kfed-io/kfed/internal/cli/federate"
	"github.com/kfed-io/kfed/internal/cli/manifest"
)

func newFederateCommand(s Streams) *cobra.Command {
	var (
		files  []string
		output string
	)
	cmd := &cobra.Command{
		Use:   "federate -f FILE|-",
		Short: "Turn native manifests into their Federated kinds",
		Long: `Turn native manifests (multi-document YAML, or a List) into their Federated kinds, keeping every
field: Deployment, ReplicaSet, DaemonSet, Job, ConfigMap, Service and Ingress become
FederatedDeployment and so on, with the object as template; a Secret becomes a FederatedSecret
that refers to it by name (the Secret itself stays a Secret in the host: its data is never
printed); anything else namespaced becomes a FederatedObject and anything cluster-scoped a
ClusterFederatedObject, with the whole manifest as template. Fields the API server sets
(status, uid, resourceVersion, managedFields, ...) are dropped. Deployments, ReplicaSets,
DaemonSets and Ingresses of API versions Kubernetes no longer serves (extensions/v1beta1,
apps/v1beta1, apps/v1beta2, networking.k8s.io/v1beta1) are converted to apps/v1 and
networking.k8s.io/v1 first; any other object of a removed version is an error. The result goes
to stdout; notes about what was converted and what else to do go to stderr.`,
		Example: `  kfed federate -f deployment.yaml
  kubectl get deploy web -o yaml | kfed federate -f - | kubectl --context federation apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			format, err := manifest.ParseFormat(output)
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return fmt.Errorf("federate needs -f FILE (or -f - for stdin)")
			}
			var objs []*unstructured.Unstructured
			for _, f := range files {
				data, err := readInput(f, s.In)
				if err != nil {
					return err
				}
				docs, err := manifest.Decode(data)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				objs = append(objs, docs...)
			}
			res, err := federate.Federate(objs)
			if err != nil {
				return err
			}
			out := make([]runtime.Object, 0, len(res.Objects))
			for _, o := range res.Objects {
				out = append(out, o)
			}
			if err := manifest.Print(s.Out, format, out...); err != nil {
				return err
			}
			for _, n := range res.Notes {
				_, _ = fmt.Fprintln(s.Err, "Note: "+n)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "File of manifests to federate; - reads stdin (repeatable)")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format: yaml or json")
	return cmd
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name) //nolint:gosec // the user names the file to read
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

func unstructuredObjects(objs []*unstructured.Unstructured) []runtime.Object {
	out := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	return out
}
