// Package dataset turns a CSV file into the matrix that models train on and
// checks it against the configured schema.
//
// Nouns:
//   - Frame: the parsed table, column-major float64 (one contiguous slice,
//     column j at Data[j*Rows:(j+1)*Rows]); category cells hold the index of
//     their label in the column's Values, empty nullable cells hold NaN.
//   - Report: every problem validation found, each with its row (1-based,
//     the header is row 0), physical line and column.
//   - Dataset: a Frame split into the feature matrix X and the target y.
//   - Split and Fold: seeded index sets for hold-out testing and k-fold
//     cross-validation.
package dataset
