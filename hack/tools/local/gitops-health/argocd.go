package main

// Argo CD health checks, run under the contract of Argo CD's util/lua package (v2 and v3):
//   - a fresh gopher-lua state per evaluation with, unless --open-libs, only the package, base and
//     table libraries, plus Argo CD's "safe os" (time, date) as require("os"): no string, math, io,
//     os or debug library.
//     That is what a script installed through argocd-cm gets by default; Argo CD's built-in scripts
//     and `resource.customizations.useOpenLibs.<group>_<Kind>: true` get every library.
//   - a 1 s deadline;
//   - the global `obj`: the object with maps as string-keyed tables, arrays as sequences (built by
//     Append, which drops nil items), numbers as Lua numbers, json.Number as strings;
//   - the value the script returns: a table is JSON-encoded by layeh.com/gopher-json (as Argo CD
//     does) and decoded into {status, message}; a JSON type error (an empty table encodes as [])
//     gives an empty status, a status outside Healthy/Progressing/Degraded/Suspended/Missing/Unknown
//     gives Unknown "Lua returned an invalid health status", nil gives an empty status, anything
//     else is an error.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

var validHealth = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

// evalHealth runs one health script against one object.
func evalHealth(script string, obj object, openLibs bool) (healthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !openLibs})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		// Argo CD registers its safe os functions as module "table", which exists by then, so
		// nothing is added; they are reachable only as require("os"). A global `os` exists only
		// with open libraries.
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return healthStatus{}, fmt.Errorf("opening %s: %w", lib.name, err)
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return healthStatus{}, err
	}
	ret := l.Get(-1)
	switch ret.Type() {
	case lua.LTNil:
		return healthStatus{}, nil
	case lua.LTTable:
	default:
		return healthStatus{}, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	data, err := luajson.Encode(ret)
	if err != nil {
		return healthStatus{}, err
	}
	var hs healthStatus
	if err := json.Unmarshal(data, &hs); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return healthStatus{}, nil
		}
		return healthStatus{}, err
	}
	if !validHealth[hs.Status] {
		return healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return hs, nil
}

func toLua(l *lua.LState, v any) lua.LValue {
	switch t := v.(type) {
	case bool:
		return lua.LBool(t)
	case string:
		return lua.LString(t)
	case json.Number:
		return lua.LString(t)
	case float64:
		return lua.LNumber(t)
	case int64:
		return lua.LNumber(t)
	case int:
		return lua.LNumber(t)
	case []any:
		tbl := l.CreateTable(len(t), 0)
		for _, item := range t {
			tbl.Append(toLua(l, item))
		}
		return tbl
	case map[string]any:
		tbl := l.CreateTable(0, len(t))
		for k, item := range t {
			tbl.RawSetH(lua.LString(k), toLua(l, item))
		}
		return tbl
	}
	return lua.LNil
}

var safeOsFuncs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, safeOsFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

// osTime: os.time() or os.time{year=, month=, day=, hour=12, min=0, sec=0} in local time.
func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	tbl := l.CheckTable(1)
	field := func(name string, def int) int {
		if n, ok := tbl.RawGetString(name).(lua.LNumber); ok {
			return int(n)
		}
		return def
	}
	t := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(t.Unix()))
	return 1
}

// osDate exists so scripts see the same names as under Argo CD; flannel-operator's scripts do not
// format dates, so this runner does not reimplement strftime.
func osDate(l *lua.LState) int {
	l.RaiseError("os.date is not implemented by gitops-health")
	return 0
}

// healthScript finds DIR/<group>/<Kind>/health.lua (DIR/<Kind>/health.lua for the core group),
// Argo CD's key for built-in scripts; "" when there is none.
func healthScript(dir string, obj object) (string, string, error) {
	group, kind := groupKind(obj)
	if kind == "" {
		return "", "", errors.New("object without kind")
	}
	path := filepath.Join(dir, group, kind, "health.lua")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", path, nil
	}
	return string(data), path, err
}

type evalResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	healthStatus
	Error string `json:"error,omitempty"`
}

func argocdEval(dir string, objs []object, openLibs bool, enc *json.Encoder, stderr io.Writer) int {
	code := 0
	for _, obj := range objs {
		apiVersion, _ := obj["apiVersion"].(string)
		r := evalResult{APIVersion: apiVersion, Name: objectName(obj)}
		_, r.Kind = groupKind(obj)
		script, path, err := healthScript(dir, obj)
		switch {
		case err != nil:
			r.Error = err.Error()
		case script == "":
			r.Error = "no health check at " + path
		default:
			r.healthStatus, err = evalHealth(script, obj, openLibs)
			if err != nil {
				r.Error = err.Error()
			}
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

type healthTests struct {
	Tests []struct {
		InputPath    string       `json:"inputPath"`
		HealthStatus healthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type testResult struct {
	Check     string       `json:"check"`
	InputPath string       `json:"inputPath"`
	Want      healthStatus `json:"want"`
	Got       healthStatus `json:"got"`
	Error     string       `json:"error,omitempty"`
	Pass      bool         `json:"pass"`
}

// argocdTest runs every health_test.yaml case the way Argo CD's TestLuaHealthScript does: the
// script is looked up by the test object's group/Kind, and status and message must both match.
func argocdTest(dir string, openLibs bool, enc *json.Encoder, stderr io.Writer) int {
	var scripts []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "health.lua" {
			scripts = append(scripts, path)
		}
		return err
	})
	if err != nil {
		fmt.Fprintf(stderr, "gitops-health: %v\n", err)
		return 1
	}
	if len(scripts) == 0 {
		fmt.Fprintf(stderr, "gitops-health: no health.lua under %s\n", dir)
		return 1
	}
	sort.Strings(scripts)
	code := 0
	for _, script := range scripts {
		for _, r := range runHealthTests(dir, script, openLibs) {
			if !r.Pass {
				code = 1
			}
			if err := enc.Encode(r); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
	}
	return code
}

func runHealthTests(dir, script string, openLibs bool) []testResult {
	checkDir := filepath.Dir(script)
	check, _ := filepath.Rel(dir, checkDir)
	fail := func(inputPath, msg string) []testResult {
		return []testResult{{Check: check, InputPath: inputPath, Error: msg}}
	}
	data, err := os.ReadFile(filepath.Join(checkDir, "health_test.yaml"))
	if err != nil {
		return fail("", err.Error())
	}
	var tests healthTests
	if err := yaml.UnmarshalStrict(data, &tests); err != nil {
		return fail("", "health_test.yaml: "+err.Error())
	}
	if len(tests.Tests) == 0 {
		return fail("", "health_test.yaml has no tests")
	}
	var out []testResult
	for _, tc := range tests.Tests {
		r := testResult{Check: check, InputPath: tc.InputPath, Want: tc.HealthStatus}
		r.Got, r.Error = runHealthTest(dir, filepath.Join(checkDir, tc.InputPath), script, openLibs)
		r.Pass = r.Error == "" && r.Got == r.Want
		out = append(out, r)
	}
	return out
}

func runHealthTest(dir, input, script string, openLibs bool) (healthStatus, string) {
	objs, err := readObjects(input, nil)
	if err != nil {
		return healthStatus{}, err.Error()
	}
	if len(objs) != 1 {
		return healthStatus{}, fmt.Sprintf("%s holds %d objects, want 1", input, len(objs))
	}
	src, path, err := healthScript(dir, objs[0])
	if err != nil {
		return healthStatus{}, err.Error()
	}
	if filepath.Clean(path) != filepath.Clean(script) {
		return healthStatus{}, fmt.Sprintf("the object's group/Kind selects %s, not %s", path, script)
	}
	hs, err := evalHealth(src, objs[0], openLibs)
	if err != nil {
		return healthStatus{}, err.Error()
	}
	return hs, ""
}
