using MovingImages.Tracking;

namespace MovingImages.Tests.Tracking;

public class HungarianTests
{
    [Fact]
    public void Finds_the_minimum_cost_assignment_of_random_rectangular_matrices()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 300; trial++)
        {
            int rows = rng.Next(0, 6), cols = rng.Next(0, 6);
            var cost = new double[rows, cols];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) cost[i, j] = Math.Round(rng.NextDouble() * 10, 1);
            var assignment = Hungarian.Solve(cost);
            Assert.Equal(rows, assignment.Length);
            var used = assignment.Where(c => c >= 0).ToArray();
            Assert.Equal(used.Length, used.Distinct().Count());
            Assert.Equal(Math.Min(rows, cols), used.Length);
            double total = assignment.Select((c, r) => c >= 0 ? cost[r, c] : 0).Sum();
            Assert.Equal(BruteForce(cost), total, 9);
        }
    }

    static double BruteForce(double[,] cost)
    {
        int rows = cost.GetLength(0), cols = cost.GetLength(1);
        int k = Math.Min(rows, cols);
        double best = k == 0 ? 0 : double.PositiveInfinity;
        void Go(int r, bool[] usedCols, int assigned, double sum)
        {
            if (assigned == k) { best = Math.Min(best, sum); return; }
            if (r == rows) return;
            if (rows - r > k - assigned) Go(r + 1, usedCols, assigned, sum); // leave row r unassigned
            for (int c = 0; c < cols; c++)
            {
                if (usedCols[c]) continue;
                usedCols[c] = true;
                Go(r + 1, usedCols, assigned + 1, sum + cost[r, c]);
                usedCols[c] = false;
            }
        }
        Go(0, new bool[cols], 0, 0);
        return best;
    }
}
