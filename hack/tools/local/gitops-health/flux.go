package main

// Flux healthCheckExprs, evaluated as kustomize-controller does (fluxcd/pkg runtime/cel,
// RFC 0009):
//   - each expression is parsed, not compiled: no variable is declared, the object's top-level
//     fields (apiVersion, kind, metadata, spec, status) are the activation, so a missing top-level
//     field is an evaluation error;
//   - CEL environment: homogeneous aggregate literals, eagerly validated declarations, UTC as the
//     default time zone, cross-type numeric comparisons, optional types (`a.?b.orValue(x)`), and
//     the strings, sets and encoders extensions; programs optimised, interrupt checked every 100
//     iterations;
//   - `current` is required, `inProgress` and `failed` optional;
//   - an object whose integer status.observedGeneration differs from metadata.generation is
//     InProgress before any expression runs; then inProgress, failed and current are evaluated in
//     that order and the first true one decides; none true is InProgress; a non-boolean result or
//     an evaluation error is an error (Flux's status reader reports Unknown and keeps waiting).
//   - expressions are chosen by the object's group and kind; an entry without kind covers its
//     whole group; two entries for the same group/kind are an error.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

type healthCheckExprs struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Current    string `json:"current"`
	InProgress string `json:"inProgress"`
	Failed     string `json:"failed"`
}

type statusEvaluator struct {
	inProgress, failed, current cel.Program
}

func newProgram(env *cel.Env, expr string) (cel.Program, error) {
	if expr == "" {
		return nil, nil
	}
	ast, issues := env.Parse(expr)
	if issues != nil && issues.Err() != nil {
		return nil, fmt.Errorf("failed to parse the CEL expression '%s': %s", expr, issues.String())
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
}

func newStatusEvaluator(h healthCheckExprs) (*statusEvaluator, error) {
	if h.Current == "" {
		return nil, errors.New("expression Current not specified")
	}
	env, err := cel.NewEnv(
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	)
	if err != nil {
		return nil, err
	}
	var e statusEvaluator
	for _, p := range []struct {
		name string
		expr string
		prog *cel.Program
	}{{"Current", h.Current, &e.current}, {"InProgress", h.InProgress, &e.inProgress}, {"Failed", h.Failed, &e.failed}} {
		if *p.prog, err = newProgram(env, p.expr); err != nil {
			return nil, fmt.Errorf("failed to parse the expression %s: %w", p.name, err)
		}
	}
	return &e, nil
}

func (e *statusEvaluator) evaluate(obj object) (string, error) {
	if status, ok := obj["status"].(map[string]any); ok {
		if observed, ok := status["observedGeneration"].(int64); ok {
			meta, _ := obj["metadata"].(map[string]any)
			if gen, ok := meta["generation"].(int64); ok && gen != observed {
				return "InProgress", nil
			}
		}
	}
	for _, step := range []struct {
		prog   cel.Program
		status string
	}{{e.inProgress, "InProgress"}, {e.failed, "Failed"}, {e.current, "Current"}} {
		if step.prog == nil {
			continue
		}
		val, _, err := step.prog.ContextEval(context.Background(), obj)
		if err != nil {
			return "", fmt.Errorf("evaluating the %s expression: %w", step.status, err)
		}
		b, ok := val.(types.Bool)
		if !ok {
			return "", fmt.Errorf("the %s expression returned %s, not a boolean", step.status, val.Type())
		}
		if b {
			return step.status, nil
		}
	}
	return "InProgress", nil
}

type groupKindKey struct{ group, kind string }

// loadHealthCheckExprs reads spec.healthCheckExprs of every Flux Kustomization in a file.
func loadHealthCheckExprs(file string) (map[groupKindKey]*statusEvaluator, error) {
	docs, err := readObjects(file, nil)
	if err != nil {
		return nil, err
	}
	out := map[groupKindKey]*statusEvaluator{}
	for _, doc := range docs {
		if g, k := groupKind(doc); g != "kustomize.toolkit.fluxcd.io" || k != "Kustomization" {
			continue
		}
		spec, _ := doc["spec"].(map[string]any)
		raw, err := json.Marshal(spec["healthCheckExprs"])
		if err != nil {
			return nil, err
		}
		var exprs []healthCheckExprs
		if err := json.Unmarshal(raw, &exprs); err != nil {
			return nil, fmt.Errorf("%s: healthCheckExprs: %w", objectName(doc), err)
		}
		for i, h := range exprs {
			group, _, _ := strings.Cut(h.APIVersion, "/")
			if !strings.Contains(h.APIVersion, "/") {
				group = ""
			}
			key := groupKindKey{group, h.Kind}
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("%s: duplicate custom health check for %s/%s at healthCheckExprs[%d]", objectName(doc), group, h.Kind, i)
			}
			if out[key], err = newStatusEvaluator(h); err != nil {
				return nil, fmt.Errorf("%s: healthCheckExprs[%d]: %w", objectName(doc), i, err)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Kustomization with healthCheckExprs in %s", file)
	}
	return out, nil
}

type fluxResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
}

func fluxEval(file string, objs []object, enc *json.Encoder, stderr io.Writer) int {
	evaluators, err := loadHealthCheckExprs(file)
	if err != nil {
		fmt.Fprintf(stderr, "gitops-health: %v\n", err)
		return 1
	}
	code := 0
	for _, obj := range objs {
		group, kind := groupKind(obj)
		apiVersion, _ := obj["apiVersion"].(string)
		r := fluxResult{APIVersion: apiVersion, Kind: kind, Name: objectName(obj), Status: "Unknown"}
		e := evaluators[groupKindKey{group, kind}]
		if e == nil {
			e = evaluators[groupKindKey{group, ""}]
		}
		if e == nil {
			r.Error = fmt.Sprintf("no healthCheckExprs for %s/%s", group, kind)
		} else if r.Status, err = e.evaluate(obj); err != nil {
			r.Status, r.Error = "Unknown", err.Error()
		}
		if r.Error != "" {
			code = 1
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return code
}
