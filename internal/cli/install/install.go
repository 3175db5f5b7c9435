package install

import (
	"context"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfed-io/kfed/internal/cli/apply"
)

// ManagerName is the name of the manager Deployment (and its ServiceAccount) in config/manager.
const ManagerName = "kfed-manager"

// Options configure Install.
type Options struct {
	// Image replaces the manager container's image when set.
	Image string
	// Wait is how long to wait for the manager Deployment to be available; 0 does not wait.
	Wait time.Duration
	// Out hears of progress.
	Out io.Writer
}

// SetImage replaces the image of every container of every Deployment in objs.
func SetImage(objs []*unstructured.Unstructured, image string) error {
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		if err != nil {
			return fmt.Errorf("reading the containers of Deployment %s: %w", o.GetName(), err)
		}
		for _, c := range containers {
			if m, ok := c.(map[string]any); ok {
				m["image"] = image
			}
		}
		if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			return fmt.Errorf("setting the image of Deployment %s: %w", o.GetName(), err)
		}
	}
	return nil
}

// Install applies objs to the host with server-side apply, waits for the CRDs to be
// established, then (unless o.Wait is 0) for every Deployment among them to be available.
func Install(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, o Options) error {
	log := ctrl.LoggerFrom(ctx)
	for _, obj := range objs {
		log.V(1).Info("Applying", "kind", obj.GetKind(), "namespace", obj.GetNamespace(), "name", obj.GetName())
		if err := apply.Object(ctx, c, obj); err != nil {
			return err
		}
		if obj.GetKind() == "CustomResourceDefinition" {
			if err := waitEstablished(ctx, c, obj.GetName()); err != nil {
				return err
			}
		}
		_, _ = fmt.Fprintf(o.Out, "%s %s applied\n", obj.GetKind(), apply.Name(obj))
	}
	if o.Wait == 0 {
		return nil
	}
	for _, obj := range objs {
		if obj.GetKind() != "Deployment" {
			continue
		}
		_, _ = fmt.Fprintf(o.Out, "Waiting up to %s for Deployment %s to be available\n", o.Wait, apply.Name(obj))
		if err := waitAvailable(ctx, c, client.ObjectKeyFromObject(obj), o.Wait); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(o.Out, "Deployment %s is available\n", apply.Name(obj))
	}
	return nil
}

// waitEstablished waits (up to a minute) for a CRD to be served.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			last = err.Error()
			return false, nil
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		last = "not Established yet"
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established (%s): %w", name, last, err)
	}
	return nil
}

// waitAvailable waits for a Deployment's Available condition.
func waitAvailable(ctx context.Context, c client.Client, key client.ObjectKey, timeout time.Duration) error {
	var (
		d       appsv1.Deployment
		lastErr error
		read    bool
	)
	// Read errors are retried: the timeout says when to give up.
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		latest := &appsv1.Deployment{}
		if lastErr = c.Get(ctx, key, latest); lastErr != nil {
			return false, nil
		}
		read, d = true, *latest
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		if !read && lastErr != nil {
			return fmt.Errorf("deployment %s not available after %s: reading it: %w", key, timeout, lastErr)
		}
		return fmt.Errorf("deployment %s not available after %s (%d of %d replicas ready): check its pods with `kubectl -n %s get pods`",
			key, timeout, d.Status.ReadyReplicas, replicas(&d), key.Namespace)
	}
	return nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}
