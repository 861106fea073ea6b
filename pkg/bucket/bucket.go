// Package bucket is housectl's access to S3-compatible object storage: a
// bucket and a key prefix (s3://BUCKET/PREFIX), reached the standard AWS
// way, with the operations the rest of housectl builds on: existence,
// listing by pages, whole-object and file transfers verified end to end,
// and conditional writes (If-None-Match: * to create once, If-Match on an
// ETag to compare and swap).
//
// Credentials, region and endpoint come from the options (DVC's remote
// options: endpointurl, region, profile, access_key_id,
// secret_access_key), then from the AWS SDK's default chain:
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_REGION,
// AWS_ENDPOINT_URL, AWS_PROFILE with ~/.aws/credentials and ~/.aws/config.
//
// Errors are classified for the user: the credentials or permission
// refused (exit 7), no such bucket (exit 8), the endpoint unreachable
// (exit 9), each saying which URL and what to do.
package bucket

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/housectl/housectl/pkg/exitcode"
)

// Options say how to reach a bucket. Empty fields fall back to the AWS
// SDK's default chain (environment, shared files, profile).
type Options struct {
	EndpointURL     string // DVC's endpointurl; AWS_ENDPOINT_URL otherwise
	Region          string
	Profile         string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	CredentialsFile string // DVC's credentialpath: a shared credentials file
	ConfigFile      string // DVC's configpath: a shared config file
	// Jobs is the most requests in flight (the connection pool's size).
	Jobs int
	// MaxBackoff caps the wait between retries (the SDK's 20 s when 0).
	MaxBackoff time.Duration
	// SSLVerify is DVC's ssl_verify: "" or "true" verify the server's
	// certificate, "false" does not, any other value is a CA bundle file.
	SSLVerify string
	// ConnectTimeout and ReadTimeout bound a connection's set-up and the
	// wait for a response's headers (0: 10 s and none).
	ConnectTimeout, ReadTimeout time.Duration
}

// Location is a bucket and a key prefix.
type Location struct {
	Bucket string
	Prefix string // without slashes at either end; "" for the whole bucket
}

// String is the location as an s3:// URL.
func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// ParseURL parses s3://BUCKET[/PREFIX].
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("%q is not an S3 URL: write s3://BUCKET or s3://BUCKET/PREFIX", raw)
	}
	return Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}, nil
}

// IsURL reports whether s names object storage rather than a local path.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// Bucket is a location with a client.
type Bucket struct {
	Location
	client   *s3.Client
	endpoint string
	requests *atomic.Int64
}

// Requests is how many HTTP requests the bucket's client has made
// (retries included).
func (b *Bucket) Requests() int64 { return b.requests.Load() }

// countRequests counts every attempt of every operation: it sits after
// the retry step, just before the request is sent.
func countRequests(n *atomic.Int64) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("housectl.count", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			n.Add(1)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	}
}

// Open returns a client for the location. It makes no request.
func Open(ctx context.Context, raw string, o Options) (*Bucket, error) {
	loc, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	jobs := max(o.Jobs, 16)
	connect := o.ConnectTimeout
	if connect == 0 {
		connect = 10 * time.Second
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * jobs
		t.MaxIdleConnsPerHost = 2 * jobs
		t.ResponseHeaderTimeout = o.ReadTimeout
		if strings.EqualFold(o.SSLVerify, "false") {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user's ssl_verify = false
		}
	}).WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect })
	requests := new(atomic.Int64)
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			// Throttling and 5xx answers back off and retry, as the
			// SDK's standard retryer does, a few more times.
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 6
				// No retry quota: a push of many objects throttled for a
				// while should back off and go on, not fail fast.
				so.RateLimiter = ratelimit.None
				if o.MaxBackoff > 0 {
					so.MaxBackoff = o.MaxBackoff
					so.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
				}
			})
		}),
	}
	if v := o.SSLVerify; v != "" && !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
		ca, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("%s: ssl_verify: the CA bundle: %w", loc, err)
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(ca)))
	}
	if o.CredentialsFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{o.CredentialsFile}))
	}
	if o.ConfigFile != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{o.ConfigFile}))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	endpoint := o.EndpointURL
	if endpoint == "" {
		endpoint = cmp.Or(os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"))
	}
	if endpoint != "" {
		// Not AWS: no instance role to ask the EC2 metadata service for.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if o.AccessKeyID != "" || o.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: the AWS configuration: %w", loc, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // as boto and DVC do when nothing says
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.APIOptions = append(so.APIOptions, countRequests(requests))
		if endpoint != "" {
			so.BaseEndpoint = aws.String(endpoint)
			so.UsePathStyle = true // what S3-compatible servers expect
		}
		// Checksums only where the API requires them: S3-compatible
		// servers do not all speak the newer ones. Transfers are verified
		// by their MD5 instead (Content-MD5, and the DVC object name).
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	if endpoint == "" {
		endpoint = "https://s3." + cfg.Region + ".amazonaws.com"
	}
	return &Bucket{Location: loc, client: client, endpoint: endpoint, requests: requests}, nil
}

// Key is the full key of a name under the prefix.
func (b *Bucket) Key(name string) string {
	if b.Prefix == "" {
		return name
	}
	return b.Prefix + "/" + name
}

// Error is a failed request, classified.
type Error struct {
	Op   string // "list", "get", "put", ...
	URL  string // s3://bucket/key
	Code int    // exit status: Denied, NoBucket, Unreachable, or Failure
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *Error) ExitCode() int { return e.Code }

// ErrNotFound is a key the bucket does not hold (an fs.ErrNotExist).
var ErrNotFound = fmt.Errorf("no such key: %w", fs.ErrNotExist)

// ErrPrecondition is a conditional write whose condition did not hold.
var ErrPrecondition = errors.New("precondition failed")

// classify turns a request's error into an Error that says what to do.
func (b *Bucket) classify(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := "s3://" + b.Bucket + "/" + key
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s: %w", where, ErrNotFound)
		case "PreconditionFailed", "ConditionalRequestConflict":
			return fmt.Errorf("%s: %w", where, ErrPrecondition)
		case "NoSuchBucket":
			return &Error{Op: op, URL: where, Code: exitcode.NoBucket, Err: err,
				Msg: fmt.Sprintf("%s: bucket %q does not exist at %s: create it (aws s3 mb s3://%s) or fix the URL", op, b.Bucket, b.endpoint, b.Bucket)}
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "ExpiredToken", "InvalidToken", "AllAccessDisabled":
			return &Error{Op: op, URL: where, Code: exitcode.Denied, Err: err,
				Msg: fmt.Sprintf("%s %s: access denied (%s) by %s: check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the remote's access_key_id/secret_access_key in .dvc/config.local) and their permission on the bucket", op, where, ae.ErrorCode(), b.endpoint)}
		}
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden {
			return &Error{Op: op, URL: where, Code: exitcode.Denied, Err: err,
				Msg: fmt.Sprintf("%s %s: access denied (403) by %s: check the credentials and their permission on the bucket", op, where, b.endpoint)}
		}
		return &Error{Op: op, URL: where, Code: exitcode.Failure, Err: err, Msg: fmt.Sprintf("%s %s: %s: %s", op, where, ae.ErrorCode(), ae.ErrorMessage())}
	}
	if strings.Contains(err.Error(), "get credentials") {
		return &Error{Op: op, URL: where, Code: exitcode.Denied, Err: err,
			Msg: fmt.Sprintf("%s %s: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or the remote's access_key_id and secret_access_key with `housectl data remote modify --local`", op, where)}
	}
	if _, ok := errors.AsType[net.Error](err); ok { // refused, unresolvable, timed out
		return &Error{Op: op, URL: where, Code: exitcode.Unreachable, Err: err,
			Msg: fmt.Sprintf("%s %s: cannot reach %s (%v): check the endpoint (the remote's endpointurl, AWS_ENDPOINT_URL) and the network, then retry", op, where, b.endpoint, rootCause(err))}
	}
	return &Error{Op: op, URL: where, Code: exitcode.Failure, Err: err, Msg: fmt.Sprintf("%s %s: %v", op, where, err)}
}

// rootCause is the innermost error, for a short message.
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Sub is the location name below b, sharing b's client and its request
// count: the registry's models/ within a tracking bucket.
func (b *Bucket) Sub(name string) *Bucket {
	c := *b
	c.Prefix = strings.Trim(b.Key(strings.Trim(name, "/")), "/")
	return &c
}
