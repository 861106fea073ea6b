// Package s3test runs a real S3 server for tests: SeaweedFS's `weed
// mini` (built into bin/tools/weed by scripts/seaweedfs.sh), on free
// loopback ports, with a throwaway directory and credentials. One server
// serves a test binary; each test takes buckets of its own.
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
//
//	srv := s3test.Get(t)
//	url := srv.Bucket(t) // s3://<fresh bucket>
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running S3 server.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	dir       string
	cmd       *exec.Cmd
	done      chan error // the process's Wait
	log       string
}

var (
	once    sync.Once
	shared  *Server
	initErr error
)

// Main runs the tests and stops the server if one was started.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	return code
}

// Wrap makes Main the Run of m, for a TestMain that hands m to another
// runner (testscript.Main).
func Wrap(m interface{ Run() int }) interface{ Run() int } { return wrapped{m} }

type wrapped struct{ m interface{ Run() int } }

func (w wrapped) Run() int { return Main(w.m) }

// Get returns the test binary's server, starting it on first use. A
// test binary that uses it must call Main from its TestMain.
func Get(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, initErr = start() })
	if initErr != nil {
		t.Fatalf("the S3 test server (SeaweedFS): %v", initErr)
	}
	return shared
}

// Weed finds the weed binary: $HOUSECTL_WEED, or bin/tools/weed at the
// module's root.
func Weed() (string, error) {
	if p := os.Getenv("HOUSECTL_WEED"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "tools", "weed")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%s is missing: run scripts/seaweedfs.sh (make test does)", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// freePorts reserves n loopback ports and releases them for the server.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func start() (*Server, error) {
	weed, err := Weed()
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a port taken between its reservation and its use: try again
		s, err := startOnce(weed)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return nil, last
}

func startOnce(weed string) (*Server, error) {
	dir, err := os.MkdirTemp("", "housectl-s3test-")
	if err != nil {
		return nil, err
	}
	p, err := freePorts(12)
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(p[0]), AccessKey: "AKIA" + strings.ToUpper(randomHex(8)),
		SecretKey: randomHex(20), Region: "us-east-1", dir: dir, log: filepath.Join(dir, "weed.log")}
	port := func(i int) string { return strconv.Itoa(p[i]) }
	args := []string{"mini", "-dir=" + filepath.Join(dir, "data"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-s3.port=" + port(0), "-s3.port.grpc=" + port(1), "-master.port=" + port(2), "-master.port.grpc=" + port(3),
		"-volume.port=" + port(4), "-volume.port.grpc=" + port(5), "-filer.port=" + port(6), "-filer.port.grpc=" + port(7),
		"-admin.port=" + port(8), "-admin.port.grpc=" + port(9), "-admin.port.legacy=0",
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.autoCreateBucket=false", "-webdav=false", "-admin.ui=false", "-master.telemetry=false"}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(context.Background(), weed, args...) // outlives any one test: stopped by Main
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+s.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	logf.Close()
	s.cmd = cmd
	done := make(chan error, 1)
	s.done = done
	go func() { done <- cmd.Wait() }()
	// Ready when a bucket can be created and listed.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			b, _ := os.ReadFile(s.log)
			os.RemoveAll(dir)
			return nil, fmt.Errorf("weed mini exited (%w): %s", err, tail(b))
		default:
		}
		if s.ready() {
			return s, nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			s.stop()
			return nil, fmt.Errorf("weed mini not ready in 60 s: %s", tail(b))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	name := "ready-" + randomHex(4)
	c := s.Client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name}); err != nil {
		return false
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &name, Key: aws.String("k"), Body: strings.NewReader("x")})
	return err == nil
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-s.done:
			_ = err // a signalled server exits with an error: expected
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			err := <-s.done
			_ = err
		}
	}
	os.RemoveAll(s.dir)
}

// Client is an S3 client of the server with its credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region: s.Region, BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 &http.Client{Timeout: 30 * time.Second},
	})
}

// Bucket creates a fresh bucket and returns its s3:// URL.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	name := "t-" + randomHex(6)
	if _, err := s.Client().CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return "s3://" + name
}

// Env is the environment that points AWS clients at the server: for a
// subprocess (append to os.Environ()) or t.Setenv.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_ENDPOINT_URL=" + s.Endpoint, "AWS_REGION=" + s.Region}
}

// Setenv points this process's AWS clients at the server for the test.
func (s *Server) Setenv(t *testing.T) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	// No shared files of the machine's user leak in.
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
}
