// Package storetest is the contract suite every store driver passes. Run it from a
// driver's tests with a function that opens a fresh, migrated store.
package storetest
