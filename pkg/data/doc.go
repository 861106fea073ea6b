// Package data fetches the raw dataset and turns it into the CSV that
// training reads.
//
// Fetch downloads cal_housing.tgz (http, https or file URL) with retries and
// a timeout, verifies its SHA-256 before anything else looks at it, keeps it
// as the archive file, extracts its members safely into the raw directory
// and derives scikit-learn's California Housing frame from them. Every file
// is written atomically; a failed or interrupted fetch leaves the previous
// state untouched and no partial file behind.
package data
