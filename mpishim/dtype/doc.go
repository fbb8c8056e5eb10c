// Package dtype is the datatype engine and the predefined reduction
// operations behind the C MPI ABI: it describes where an MPI datatype's
// data lies in memory, moves that data to and from packed form, and
// combines packed operands.
//
// # Type maps
//
// An MPI datatype is a type map, a sequence of (basic kind, byte
// displacement) entries, plus a lower bound and an upper bound. A buffer of
// count copies holds copy k at base + k*extent, extent being ub-lb, and the
// displacements are relative to base, so they may be negative. Each
// constructor repeats its old types at displacements; the bounds of the
// result are the smallest lower bound and the largest upper bound of the
// blocks, where a block's bounds come from its old type's own (possibly
// resized) bounds. Then, as in the standard's epsilon rule, the upper bound
// grows so the extent is a multiple of the widest alignment inside, which
// is how C pads struct{double; char} to 16 bytes. Resized sets both bounds
// by hand, and the rounding is off for it and for everything built from
// it, like MPI's sticky bound markers: a user-chosen extent is never
// grown. The true bounds ignore all this and span the data.
//
// Pair kinds (DoubleInt and friends) are predefined types laid out as
// their C structs; they are one element for Elem and for Reduce, and two
// basic elements (value and index) for Elements and NumElems, as the
// standard defines them as two-member structs.
//
// # Packed form
//
// Packed data is the concatenation of a type map's elements in type-map
// order, without holes, in host byte order. It is the wire format: MPI only
// requires the sender's and the receiver's type signatures (their kind
// sequences) to match, not their layouts, so a vector may be received into
// a contiguous array, and packed data is the form both sides agree on. For
// the same reason reductions work on packed operands: the elements are
// uniform there whatever the user's layout was.
//
// # Runs
//
// A constructor flattens its type once into contiguous byte runs, merging
// neighbours (a vector of doubles whose stride equals its block length is
// one run), and keeps one level of repetition, a pattern of runs repeated
// at a stride, so that a vector or an array of structs costs a constant
// amount of memory whatever its count. Pack and Unpack then copy run by
// run; when count copies of a type form one run, as for predefined types
// and contiguous arrays of them, they move with a single copy.
package dtype
