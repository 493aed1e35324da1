// Command gitops-health judges Kubernetes objects the way Argo CD and Flux do for custom resources,
// with the interpreters they embed: Argo CD's Lua health scripts under gopher-lua, Flux's
// Kustomization healthCheckExprs under cel-go. Test tooling for flannel-operator; not shipped.
//
//	gitops-health argocd test DIR           every <group>/<Kind>/health_test.yaml under DIR (Argo CD's
//	                                        resource_customizations layout); exit 1 when a case differs
//	gitops-health argocd eval DIR -f FILE   health of each object, script chosen by group/Kind
//	gitops-health flux eval KUSTOMIZATION -f FILE
//	                                        status of each object under the healthCheckExprs of the
//	                                        Kustomization(s) in that file
//
// FILE is YAML or JSON ("-" = stdin), multi-document, Lists expanded (`kubectl get -o json | ...`).
// Output: one JSON object per case or object on stdout. Usage errors exit 2, I/O errors 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"sigs.k8s.io/yaml"
)

const usage = `usage: gitops-health argocd test DIR
       gitops-health argocd eval [--open-libs] DIR -f FILE
       gitops-health flux eval KUSTOMIZATION_FILE -f FILE`

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("gitops-health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", `objects to judge (YAML or JSON, "-" = stdin)`)
	openLibs := fs.Bool("open-libs", false,
		"all gopher-lua libraries, like resource.customizations.useOpenLibs.<group>_<Kind>: true (default: Argo CD's safe subset)")
	if err := fs.Parse(args[2:]); err != nil {
		return 2
	}
	rest := fs.Args()
	// Flags may follow the positional argument: `argocd eval DIR -f -`.
	if len(rest) > 1 {
		if err := fs.Parse(rest[1:]); err != nil {
			return 2
		}
		rest = append(rest[:1], fs.Args()...)
	}
	enc := json.NewEncoder(stdout)
	switch {
	case args[0] == "argocd" && args[1] == "test" && len(rest) == 1 && *file == "":
		return argocdTest(rest[0], *openLibs, enc, stderr)
	case args[0] == "argocd" && args[1] == "eval" && len(rest) == 1 && *file != "":
		objs, err := readObjects(*file, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "gitops-health: %s: %v\n", *file, err)
			return 1
		}
		return argocdEval(rest[0], objs, *openLibs, enc, stderr)
	case args[0] == "flux" && args[1] == "eval" && len(rest) == 1 && *file != "":
		objs, err := readObjects(*file, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "gitops-health: %s: %v\n", *file, err)
			return 1
		}
		return fluxEval(rest[0], objs, enc, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// object is a decoded Kubernetes object: JSON types, integers as int64 and other numbers as
// float64, the way apimachinery's unstructured decoding (and so Argo CD and Flux) hands them over.
type object = map[string]any

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func readObjects(name string, stdin io.Reader) ([]object, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	var out []object
	for _, doc := range docSeparator.Split(string(data), -1) {
		obj, err := decodeObject([]byte(doc))
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue
		}
		if items, ok := obj["items"].([]any); ok && isList(obj) {
			for i, it := range items {
				m, ok := it.(object)
				if !ok {
					return nil, fmt.Errorf("items[%d] is not an object", i)
				}
				out = append(out, m)
			}
			continue
		}
		out = append(out, obj)
	}
	return out, nil
}

func isList(obj object) bool {
	kind, _ := obj["kind"].(string)
	return len(kind) > 4 && kind[len(kind)-4:] == "List"
}

// decodeObject converts one YAML or JSON document; nil for an empty document.
func decodeObject(doc []byte) (object, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := intsAndFloats(v).(object)
	if !ok {
		return nil, errors.New("document is not an object")
	}
	return m, nil
}

func intsAndFloats(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(t), 64)
		return f
	case []any:
		for i := range t {
			t[i] = intsAndFloats(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = intsAndFloats(t[k])
		}
	}
	return v
}

// groupKind of an object: "group/Kind", or "Kind" for the core group (Argo CD's key format).
func groupKind(obj object) (group, kind string) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ = obj["kind"].(string)
	for i := range apiVersion {
		if apiVersion[i] == '/' {
			return apiVersion[:i], kind
		}
	}
	return "", kind
}

func objectName(obj object) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}
