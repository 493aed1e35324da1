// Command kstatus prints the kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) of Kubernetes
// objects, the way Flux, Argo CD-style health checks and `kpt live status` judge them.
// Test tooling for flannel-operator; not shipped.
//
//	kstatus -f objects.yaml            objects from YAML/JSON files ("-" = stdin, multi-document)
//	kstatus --kubeconfig K get APIVERSION RESOURCE NAME [-n NAMESPACE]
//	                                   one object read live from the cluster
//
// Output: one JSON object per input object on stdout:
//
//	{"apiVersion":...,"kind":...,"name":...,"namespace":...,"status":"Current","message":...}
//
// --expect STATUS makes the exit code 3 when any object's status differs (0 otherwise);
// usage errors exit 2, I/O errors 1.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Error      string `json:"error,omitempty"`
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kstatus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringList
	fs.Var(&files, "f", "YAML or JSON file with objects (repeatable, - for stdin)")
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig for `get`")
	namespace := fs.String("n", "", "namespace for `get` of a namespaced resource")
	expect := fs.String("expect", "", "exit 3 unless every object has this status (e.g. Current)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	var objs []*unstructured.Unstructured
	switch {
	case len(files) > 0 && len(rest) == 0:
		for _, f := range files {
			got, err := readFile(f, stdin)
			if err != nil {
				fmt.Fprintf(stderr, "kstatus: %s: %v\n", f, err)
				return 1
			}
			objs = append(objs, got...)
		}
	case len(files) == 0 && len(rest) >= 4 && rest[0] == "get":
		// Flags may follow the positional arguments: `get v1 pods x -n ns`.
		if err := fs.Parse(rest[4:]); err != nil {
			return 2
		}
		obj, err := get(*kubeconfig, rest[1], rest[2], rest[3], *namespace)
		if err != nil {
			fmt.Fprintf(stderr, "kstatus: %v\n", err)
			return 1
		}
		objs = append(objs, obj)
	default:
		fmt.Fprintln(stderr, "usage: kstatus -f FILE... | kstatus --kubeconfig K get APIVERSION RESOURCE NAME [-n NS] [--expect STATUS]")
		return 2
	}
	enc := json.NewEncoder(stdout)
	code := 0
	for _, u := range objs {
		r := result{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), Namespace: u.GetNamespace()}
		res, err := status.Compute(u)
		if err != nil {
			r.Status, r.Error = "Unknown", err.Error()
		} else {
			r.Status, r.Message = res.Status.String(), res.Message
		}
		if *expect != "" && r.Status != *expect {
			code = 3
		}
		if err := enc.Encode(r); err != nil {
			return 1
		}
	}
	return code
}

func readFile(name string, stdin io.Reader) ([]*unstructured.Unstructured, error) {
	var in io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	// Split documents, convert each to JSON and let Unstructured decode it: numbers become int64
	// like they do from the API server (a generic YAML decode gives float64, which kstatus rejects).
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var out []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := utilyaml.ToJSON(doc)
		if err != nil {
			return nil, err
		}
		if trimmed := strings.TrimSpace(string(data)); trimmed == "" || trimmed == "null" || trimmed == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}

func get(kubeconfig, apiVersion, resource, name, namespace string) (*unstructured.Unstructured, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = 30 * time.Second
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	ri := client.Resource(gv.WithResource(resource))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if namespace != "" {
		return ri.Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}
