package test

// The container image: `make image` with podman, then what a container of
// it would run, read from the image itself. Containers cannot run on these
// machines, so the test reads the image's configuration (podman image
// inspect) and file system (podman save, layers untarred here) and runs
// the binary it holds on the host, with the image's environment.

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	slash "path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// The image's layout, as the Containerfile sets it.
const (
	imageBinary  = "/usr/local/bin/eventara"
	imageDataDir = "/var/lib/eventara"
	imagePort    = "8080"
)

// imageConfig is what podman image inspect says of the image.
type imageConfig struct {
	Os           string
	Architecture string
	Config       struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		Env          []string
		ExposedPorts map[string]struct{}
		Volumes      map[string]struct{}
		Labels       map[string]string
	}
}

func TestContainerImage(t *testing.T) {
	t.Parallel()
	testutil.Require(t, "podman", "apt-get install -y podman (.ci/run does it)", func() error {
		out, err := exec.Command("podman", "info", "--format", "{{.Store.GraphDriverName}}").CombinedOutput()
		if err != nil {
			return fmt.Errorf("podman info: %v: %s", err, bytes.TrimSpace(out))
		}
		return nil
	})
	testutil.Require(t, "make", "apt-get install -y make", func() error {
		_, err := exec.LookPath("make")
		return err
	})

	// make image without the dashboard's rebuild, which the other tests'
	// builds must not see happen (make test built it already).
	name := fmt.Sprintf("localhost/eventara-test-%d", os.Getpid())
	ref := name + ":test"
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "--force", ref, name+":latest").Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	mk := exec.CommandContext(ctx, "make", "--no-print-directory", "image-noweb", "CONTAINER_ENGINE=podman",
		"CONTAINER_BUILD_FLAGS=--layers=false", "IMAGE="+name, "IMAGE_TAG=test")
	mk.Dir = ".."
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make image-noweb: %v\n%s", err, out)
	}

	out, err := exec.Command("podman", "image", "inspect", "--format", "json", ref).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var imgs []imageConfig
	if err := json.Unmarshal(out, &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	img := imgs[0]
	cfg := img.Config
	if img.Os != "linux" || img.Architecture != runtime.GOARCH {
		t.Errorf("image for %s/%s, want linux/%s", img.Os, img.Architecture, runtime.GOARCH)
	}
	uid, gid, err := numericUser(cfg.User)
	if err != nil || uid == 0 || gid == 0 {
		t.Errorf("USER %q (%v): want a numeric non-root uid:gid", cfg.User, err)
	}
	if !slices.Equal(cfg.Entrypoint, []string{imageBinary}) || len(cfg.Cmd) != 0 {
		t.Errorf("ENTRYPOINT %q CMD %q, want [%s] and no CMD", cfg.Entrypoint, cfg.Cmd, imageBinary)
	}
	if _, ok := cfg.ExposedPorts[imagePort+"/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("EXPOSE %v, want %s/tcp", cfg.ExposedPorts, imagePort)
	}
	if _, ok := cfg.Volumes[imageDataDir]; !ok {
		t.Errorf("VOLUME %v, want %s", cfg.Volumes, imageDataDir)
	}
	env := map[string]string{}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["EVENTARA_ADDR"] != "0.0.0.0:"+imagePort || env["EVENTARA_DATA_DIR"] != imageDataDir {
		t.Errorf("ENV %q: want EVENTARA_ADDR=0.0.0.0:%s (every interface, the exposed port) and EVENTARA_DATA_DIR=%s", cfg.Env, imagePort, imageDataDir)
	}
	version := cfg.Labels["org.opencontainers.image.version"]
	if version == "" || version == "dev" {
		t.Errorf("label org.opencontainers.image.version %q, want make's VERSION", version)
	}

	// The file system: the binary, the user, the data directory, nothing else.
	root := t.TempDir()
	archive := filepath.Join(t.TempDir(), "image.tar")
	if out, err := exec.Command("podman", "save", "--format", "docker-archive", "-o", archive, ref).CombinedOutput(); err != nil {
		t.Fatalf("podman save: %v\n%s", err, out)
	}
	files := unpackImage(t, archive, root)
	var regular []string
	for p, h := range files {
		if h.Typeflag != tar.TypeDir {
			regular = append(regular, p)
		}
	}
	slices.Sort(regular)
	if want := []string{"/etc/group", "/etc/passwd", imageBinary}; !slices.Equal(regular, want) {
		t.Errorf("files in the image %q, want only %q", regular, want)
	}
	if h := files[imageBinary]; h == nil || h.Uid != 0 || h.Mode&0o111 == 0 || h.Mode&0o022 != 0 {
		t.Errorf("%s: %+v; want root's, executable, writable by no one else", imageBinary, h)
	}
	if h := files[imageDataDir]; h == nil || h.Typeflag != tar.TypeDir || h.Uid != uid || h.Gid != gid || h.Mode&0o700 != 0o700 {
		t.Errorf("%s: %+v; want a directory owned by %d:%d that it can write", imageDataDir, h, uid, gid)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	var user []string
	for _, line := range strings.Split(strings.TrimSpace(string(passwd)), "\n") {
		if f := strings.Split(line, ":"); len(f) == 7 && f[2] == strconv.Itoa(uid) {
			user = f
		}
	}
	if user == nil || user[0] == "root" || user[3] != strconv.Itoa(gid) || user[5] != imageDataDir {
		t.Errorf("/etc/passwd %q: want a non-root line for uid %d, gid %d, home %s", passwd, uid, gid, imageDataDir)
	}

	// The binary is static (nothing else in the image could load it) and
	// runs: --help, --version, and serving with the image's environment.
	bin := filepath.Join(root, imageBinary)
	if err := checkStatic(bin); err != nil {
		t.Errorf("%s: %v", imageBinary, err)
	}
	help, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil || !bytes.Contains(help, []byte("-data-dir")) || !bytes.Contains(help, []byte("EVENTARA_DATA_DIR")) {
		t.Errorf("%s --help: %v\n%s", imageBinary, err, help)
	}
	v, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(v), "eventara "+version+" ") {
		t.Errorf("%s --version: %v: %q, want the label's version %q", imageBinary, err, v, version)
	}
	serveImageBinary(t, bin, cfg.Env, version)
}

// numericUser parses USER "uid:gid".
func numericUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, errors.New("not uid:gid")
	}
	if uid, err = strconv.Atoi(u); err != nil {
		return 0, 0, err
	}
	gid, err = strconv.Atoi(g)
	return uid, gid, err
}

// unpackImage writes the regular files of a docker-archive's layers,
// in order, under root, and returns every entry's header by absolute path.
func unpackImage(t *testing.T, archive, root string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := map[string][]byte{}
	links := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			entries[slash.Clean(h.Name)] = b
		case tar.TypeSymlink:
			links[slash.Clean(h.Name)] = slash.Join(slash.Dir(h.Name), h.Linkname)
		}
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v: %s", err, entries["manifest.json"])
	}
	files := map[string]*tar.Header{}
	for _, l := range manifest[0].Layers {
		name := slash.Clean(l)
		if target, ok := links[name]; ok {
			name = target
		}
		layer, ok := entries[name]
		if !ok {
			t.Fatalf("layer %s is not in the archive", l)
		}
		lr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", l, err)
			}
			p := slash.Clean("/" + h.Name)
			if strings.HasPrefix(slash.Base(p), ".wh.") {
				t.Errorf("layer %s deletes %s: a scratch image has nothing to delete", l, p)
				continue
			}
			files[p] = h
			if h.Typeflag != tar.TypeReg {
				continue
			}
			dst := filepath.Join(root, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(w, lr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return files
}

// checkStatic fails unless bin is an ELF executable that needs no
// dynamic loader and no shared library.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked: it names a program interpreter")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("needs shared libraries %v", libs)
	}
	return nil
}

// serveImageBinary runs bin as the container would, with the image's
// environment, on a loopback port and a temporary data directory instead
// of 0.0.0.0:8080 and the volume, until its health answers UP with the
// image's version; then stops it with SIGTERM, as podman stop does.
func serveImageBinary(t *testing.T, bin string, imageEnv []string, version string) {
	t.Helper()
	addr := freePort(t)
	env := []string{"EVENTARA_ADDR=" + addr, "EVENTARA_DATA_DIR=" + t.TempDir()}
	for _, kv := range imageEnv {
		if !strings.HasPrefix(kv, "EVENTARA_ADDR=") && !strings.HasPrefix(kv, "EVENTARA_DATA_DIR=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	testutil.WaitFor(t, testutil.Patience, "the image's binary answering health", func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited: %v\n%s", err, logs)
		default:
		}
		resp, err := healthClient.Get("http://" + addr + "/api/v1/events/health")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var h struct {
			Status string
			Build  struct{ Version string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health %d: %v", resp.StatusCode, err)
		}
		if h.Status != "UP" || h.Build.Version != version {
			return fmt.Errorf("health %+v, want UP and version %s", h, version)
		}
		return nil
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(testutil.Patience):
		_ = cmd.Process.Kill()
		t.Errorf("no exit within %s of SIGTERM\n%s", testutil.Patience, logs)
	}
}
