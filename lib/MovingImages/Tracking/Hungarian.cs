namespace MovingImages.Tracking;

/// <summary>The Hungarian (Kuhn–Munkres) algorithm: a minimum-cost one-to-one assignment.</summary>
public static class Hungarian
{
    /// <summary>
    /// Assigns rows to columns of a rectangular cost matrix so that the total cost is minimal; each row gets at most
    /// one column and vice versa (min(rows, cols) pairs). Returns, for each row, its column or −1. O(n³).
    /// </summary>
    public static int[] Solve(double[,] cost)
    {
        int rows = cost.GetLength(0), cols = cost.GetLength(1);
        if (rows == 0 || cols == 0) return Enumerable.Repeat(-1, rows).ToArray();
        bool transposed = rows > cols;
        int n = transposed ? cols : rows, m = transposed ? rows : cols; // n ≤ m
        double C(int i, int j) => transposed ? cost[j - 1, i - 1] : cost[i - 1, j - 1];

        // Jonker-style potentials formulation (1-based), e-maxx "Hungarian algorithm" for n ≤ m.
        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];   // p[j]: row matched to column j
        var way = new int[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = new double[m + 1];
            Array.Fill(minv, double.PositiveInfinity);
            var used = new bool[m + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = C(i0, j) - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var result = Enumerable.Repeat(-1, rows).ToArray();
        for (int j = 1; j <= m; j++)
        {
            if (p[j] == 0) continue;
            if (transposed) result[j - 1] = p[j] - 1;
            else result[p[j] - 1] = j - 1;
        }
        return result;
    }
}
