package all

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
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
