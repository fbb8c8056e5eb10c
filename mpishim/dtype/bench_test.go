package dtype

import (
	"testing"
	"unsafe"
)

// BenchmarkPackVector packs a matrix column (one double per row) and a
// strided block vector, the halo-exchange shapes.
func BenchmarkPackVector(b *testing.B) {
	for _, c := range []struct {
		name     string
		blocklen int
	}{{"blocklen=1", 1}, {"blocklen=16", 16}} {
		b.Run(c.name, func(b *testing.B) {
			const rows = 1 << 14
			ty, err := Vector(rows, c.blocklen, 2*c.blocklen, Basic(Float64))
			if err != nil {
				b.Fatal(err)
			}
			src := make([]float64, rows*2*c.blocklen)
			dst := make([]byte, ty.Size())
			b.SetBytes(ty.Size())
			for b.Loop() {
				ty.Pack(dst, unsafe.Pointer(&src[0]), 1)
			}
		})
	}
}

func BenchmarkUnpackVector(b *testing.B) {
	const rows = 1 << 14
	ty, err := Vector(rows, 1, 2, Basic(Float64))
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float64, rows*2)
	src := make([]byte, ty.Size())
	b.SetBytes(ty.Size())
	for b.Loop() {
		ty.Unpack(src, unsafe.Pointer(&dst[0]), 1)
	}
}

// BenchmarkPackStructs packs an array of padded structs, count copies of
// a two-field type.
func BenchmarkPackStructs(b *testing.B) {
	ty, err := Struct([]int{1, 1}, []int64{0, 8}, []*Type{Basic(Float64), Basic(Int32)})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1 << 14
	src := make([]byte, n*ty.Extent())
	dst := make([]byte, n*ty.Size())
	b.SetBytes(int64(len(dst)))
	for b.Loop() {
		ty.Pack(dst, unsafe.Pointer(&src[0]), n)
	}
}

func BenchmarkReduceSumFloat64(b *testing.B) {
	for _, c := range []struct {
		name  string
		shift int
	}{{"aligned", 0}, {"misaligned", 1}} {
		b.Run(c.name, func(b *testing.B) {
			const n = 1 << 15
			x, y := make([]byte, 8*n+8), make([]byte, 8*n+8)
			inout, in := x[c.shift:c.shift+8*n], y[:8*n]
			b.SetBytes(8 * n)
			for b.Loop() {
				if err := Reduce(Sum, Float64, inout, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReduceMaxInt32(b *testing.B) {
	const n = 1 << 15
	inout, in := make([]byte, 4*n), make([]byte, 4*n)
	b.SetBytes(4 * n)
	for b.Loop() {
		if err := Reduce(Max, Int32, inout, in); err != nil {
			b.Fatal(err)
		}
	}
}
