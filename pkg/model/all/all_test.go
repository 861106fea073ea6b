package all

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/gbt"
)

func artifact(t *testing.T, kind string, over map[string]any) (*model.Artifact, []byte) {
	t.Helper()
	X, y, _, _ := testenv.California(t, true)
	tr, params, err := Trainer(kind, over)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tr.Fit(t.Context(), X, y, model.FitOptions{Rand: rand.New(rand.NewPCG(1, 1)), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(params)
	feats := []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}
	a := &model.Artifact{Header: model.Header{Kind: kind, Features: feats, Target: "MedHouseVal", Params: pj,
		Training: model.Summarize(X, y, feats, "MedHouseVal"), CreatedWith: "test"}, Model: m}
	b, err := model.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestRoundTripEveryKind(t *testing.T) {
	for _, kind := range Kinds {
		over := map[string]any{}
		if kind == "random_forest" {
			over["n_estimators"] = 5
		}
		a, b := artifact(t, kind, over)
		back, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if back.Header.Kind != kind || len(back.Header.Features) != 8 || len(back.Header.Training) != 9 || back.Header.Training[8].Name != "MedHouseVal" {
			t.Errorf("%s header %+v", kind, back.Header)
		}
		row := []float64{8.3, 41, 6.9, 1.02, 322, 2.55, 37.88, -122.23}
		if back.Model.Predict(row) != a.Model.Predict(row) {
			t.Errorf("%s: decoded model predicts differently", kind)
		}
		again, _ := model.Encode(back)
		if string(again) != string(b) {
			t.Errorf("%s: re-encoding changed the bytes", kind)
		}
	}
}

func TestCorruptArtifactsAreRefused(t *testing.T) {
	_, b := artifact(t, "linear", nil)
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 1
	cases := map[string][]byte{
		"truncated":    b[:len(b)-10],
		"altered":      flipped,
		"empty":        {},
		"not a model":  []byte("some other file that is long enough to pass the length check ........"),
		"only a magic": []byte("HOUSECTL"),
	}
	for name, bad := range cases {
		_, err := Decode(bad)
		if !errors.Is(err, model.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "m.bin")
	_ = os.WriteFile(path, b[:100], 0o644)
	if _, _, err := Load(path); err == nil || !strings.Contains(err.Error(), "m.bin") || !strings.Contains(err.Error(), "SHA-256 does not match") {
		t.Errorf("Load of a cut file: %v", err)
	}
}

func TestTrainerParams(t *testing.T) {
	if _, _, err := Trainer("svm", nil); err == nil || !strings.Contains(err.Error(), "linear, random_forest, gradient_boosting") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, _, err := Trainer("gradient_boosting", map[string]any{"max_iters": 5}); err == nil || !strings.Contains(err.Error(), `no parameter "max_iters"`) {
		t.Errorf("unknown parameter: %v", err)
	}
	if _, _, err := Trainer("gradient_boosting", map[string]any{"max_iter": "many"}); err == nil || !strings.Contains(err.Error(), "max_iter") {
		t.Errorf("wrong type: %v", err)
	}
	if _, _, err := Trainer("random_forest", map[string]any{"n_estimators": 0}); err == nil || !strings.Contains(err.Error(), "n_estimators must be at least 1") {
		t.Errorf("invalid value: %v", err)
	}
	tr, p, err := Trainer("gradient_boosting", map[string]any{"learning_rate": 0.05, "max_iter": 7})
	if err != nil {
		t.Fatal(err)
	}
	gp := p.(gbt.Params)
	if gp.LearningRate != 0.05 || gp.MaxIter != 7 || gp.MaxLeafNodes != 63 || tr.Kind() != "gradient_boosting" {
		t.Errorf("params %+v", gp)
	}
}

// BenchmarkLoadDefault reads, checks and decodes each kind's default model
// (the forest's is the largest: ~10 MB).
func BenchmarkLoadDefault(b *testing.B) {
	X, y, _, _ := testenv.California(b, true)
	for _, kind := range Kinds {
		tr, _, err := Trainer(kind, nil)
		if err != nil {
			b.Fatal(err)
		}
		m, err := tr.Fit(b.Context(), X, y, model.FitOptions{Rand: rand.New(rand.NewPCG(1, 1)), Workers: 2})
		if err != nil {
			b.Fatal(err)
		}
		feats := []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}
		enc, err := model.Encode(&model.Artifact{Header: model.Header{Kind: kind, Features: feats, Target: "y", Params: json.RawMessage("{}"),
			Training: model.Summarize(X, y, feats, "y")}, Model: m})
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "model.bin")
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(kind, func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				if _, _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Models written in format 1, before missing values and categories (by
// housectl at 3bd1cd5~1, kept in testdata/format1 with the predictions
// that binary made), still load and predict the same bits. Re-encoded,
// they are format 2 and read back the same.
func TestFormat1ModelsStillLoad(t *testing.T) {
	for _, kind := range Kinds {
		b, err := os.ReadFile(filepath.Join("testdata", "format1", kind+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		if v := binary.LittleEndian.Uint16(b[8:]); v != 1 {
			t.Fatalf("%s: the golden file is format %d, not 1", kind, v)
		}
		a, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(a.Header.Nullable) != 0 || len(a.Header.Categories) != 0 {
			t.Errorf("%s: a format-1 model has nullable %v, categories %v", kind, a.Header.Nullable, a.Header.Categories)
		}
		again, err := model.Encode(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("%s re-encoded: %v", kind, err)
		}
		f, err := os.Open(filepath.Join("testdata", "format1", kind+".predictions.csv"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(recs) < 2 || !slices.Equal(recs[0], []string{"a", "b", "c", "prediction"}) {
			t.Fatalf("%s predictions: %v, %v", kind, err, recs[:1])
		}
		row := make([]float64, 3)
		for i, rec := range recs[1:] {
			for j := range row {
				row[j], _ = strconv.ParseFloat(rec[j], 64)
			}
			want, _ := strconv.ParseFloat(rec[3], 64)
			if got, again := a.Model.Predict(row), back.Model.Predict(row); got != want || again != want {
				t.Errorf("%s row %d %v: %v (re-encoded %v), format-1 housectl predicted %v", kind, i+1, row, got, again, want)
			}
		}
	}
}

// A model in a format newer than this housectl's is refused, saying to
// upgrade, not that the file is corrupt.
func TestNewerFormatIsRefused(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "format1", "linear.bin"))
	if err != nil {
		t.Fatal(err)
	}
	b = slices.Clone(b)
	binary.LittleEndian.PutUint16(b[8:], model.FormatVersion+1)
	body := b[:len(b)-sha256.Size]
	sum := sha256.Sum256(body)
	copy(b[len(body):], sum[:])
	_, err = Decode(b)
	if err == nil || errors.Is(err, model.ErrCorrupt) || !strings.Contains(err.Error(), "upgrade housectl") {
		t.Errorf("format %d: %v", model.FormatVersion+1, err)
	}
}
