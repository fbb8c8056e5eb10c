package main

// heatGrid runs the heat example's Jacobi iteration serially: an n×n
// grid whose top row is held at 100 and whose other edges stay 0, the
// same update in the same order of additions as examples/heat, so the
// grid is the one any run of that example holds after iters iterations
// (TestHeatGridMatchesExample checks the checksum). It returns the grid
// row by row and the example's checksum, the sum of the row sums.
//
// The example is a main package and cannot be imported; this is the
// dozen lines of its numerics, not its MPI decomposition.
func heatGrid(iters, n int) ([]float64, float64) {
	cur, nxt := make([]float64, n*n), make([]float64, n*n)
	for j := 0; j < n; j++ {
		cur[j], nxt[j] = 100, 100
	}
	for it := 0; it < iters; it++ {
		for i := 1; i < n-1; i++ {
			up, mid, down, out := cur[(i-1)*n:i*n], cur[i*n:(i+1)*n], cur[(i+1)*n:(i+2)*n], nxt[i*n:(i+1)*n]
			for j := 1; j < n-1; j++ {
				out[j] = 0.25 * (up[j] + down[j] + mid[j-1] + mid[j+1])
			}
		}
		cur, nxt = nxt, cur
	}
	var sum float64
	for i := 0; i < n; i++ {
		s := 0.0
		for _, v := range cur[i*n : (i+1)*n] {
			s += v
		}
		sum += s
	}
	return cur, sum
}
