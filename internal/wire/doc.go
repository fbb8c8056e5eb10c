// Package wire defines the frames and messages that cross a process or
// host boundary: the local protocol between a rank process and its peer
// daemon, the data-plane stream between two peers, and the request/response
// envelope of the peer-to-peer control RPCs.
//
// Every decoder here accepts bytes from an untrusted source. Decoders check
// lengths before slicing, never allocate more than the frame limit the
// caller gives, and return an error wrapping ErrMalformed instead of
// panicking. Each has a Fuzz test.
package wire
