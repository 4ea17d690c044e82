using MovingImages.Geometry;

namespace MovingImages.Tracking;

/// <summary>
/// SORT's constant-velocity Kalman filter for one box. State: centre x, centre y, area s, aspect ratio r, and the
/// velocities of x, y and s (r is taken as constant). Measurements: x, y, s, r.
/// </summary>
public sealed class KalmanBoxFilter
{
    const int N = 7, M = 4;
    readonly double[] _x = new double[N];
    readonly double[,] _p = new double[N, N];
    static readonly double[,] Q = MakeQ();
    static readonly double[] R = [1, 1, 10, 10];

    /// <summary>Starts a filter at <paramref name="box"/> with unknown (high-variance) velocities.</summary>
    public KalmanBoxFilter(Box box)
    {
        var z = ToMeasurement(box);
        for (int i = 0; i < M; i++) _x[i] = z[i];
        for (int i = 0; i < N; i++) _p[i, i] = i < 4 ? 10 : 10_000; // SORT: P *= 10, velocities ×1000 more
    }

    static double[,] MakeQ()
    {
        var q = new double[N, N];
        for (int i = 0; i < N; i++) q[i, i] = i < 4 ? 1 : 0.01;
        q[6, 6] = 0.0001;
        return q;
    }

    /// <summary>The current estimate as a box.</summary>
    public Box Box => ToBox(_x);

    /// <summary>Advances the state one frame: x += v. Returns the predicted box.</summary>
    public Box Predict()
    {
        if (_x[2] + _x[6] <= 0) _x[6] = 0;
        // x = F x, F = I with F[i, i+4] = 1 for i in 0..2
        for (int i = 0; i < 3; i++) _x[i] += _x[i + 4];
        // P = F P Fᵀ + Q
        var fp = new double[N, N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                fp[i, j] = _p[i, j] + (i < 3 ? _p[i + 4, j] : 0);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                _p[i, j] = fp[i, j] + (j < 3 ? fp[i, j + 4] : 0) + Q[i, j];
        return Box;
    }

    /// <summary>Corrects the state with a measured box. Returns the corrected (smoothed) box.</summary>
    public Box Update(Box measured)
    {
        var z = ToMeasurement(measured);
        // S = H P Hᵀ + R (H picks the first four state entries)
        var s = new double[M, M];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++)
                s[i, j] = _p[i, j] + (i == j ? R[i] : 0);
        var sInv = Invert4(s);
        // K = P Hᵀ S⁻¹  (N × M)
        var k = new double[N, M];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++)
            {
                double sum = 0;
                for (int l = 0; l < M; l++) sum += _p[i, l] * sInv[l, j];
                k[i, j] = sum;
            }
        var y = new double[M];
        for (int i = 0; i < M; i++) y[i] = z[i] - _x[i];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < M; j++) _x[i] += k[i, j] * y[j];
        // P = (I − K H) P
        var p = new double[N, N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
            {
                double sum = _p[i, j];
                for (int l = 0; l < M; l++) sum -= k[i, l] * _p[l, j];
                p[i, j] = sum;
            }
        Array.Copy(p, _p, p.Length);
        return Box;
    }

    static double[] ToMeasurement(Box b)
    {
        double w = Math.Max(b.Width, 1e-3), h = Math.Max(b.Height, 1e-3);
        return [b.CenterX, b.CenterY, w * h, w / h];
    }

    static Box ToBox(double[] x)
    {
        double s = Math.Max(x[2], 1e-6), r = Math.Max(x[3], 1e-6);
        double w = Math.Sqrt(s * r), h = s / w;
        return Box.FromCenter((float)x[0], (float)x[1], (float)w, (float)h);
    }

    static double[,] Invert4(double[,] a)
    {
        // Gauss–Jordan with partial pivoting on a small symmetric positive-definite matrix.
        var m = new double[M, 2 * M];
        for (int i = 0; i < M; i++)
        {
            for (int j = 0; j < M; j++) m[i, j] = a[i, j];
            m[i, M + i] = 1;
        }
        for (int c = 0; c < M; c++)
        {
            int pivot = c;
            for (int r = c + 1; r < M; r++) if (Math.Abs(m[r, c]) > Math.Abs(m[pivot, c])) pivot = r;
            if (pivot != c)
                for (int j = 0; j < 2 * M; j++) (m[c, j], m[pivot, j]) = (m[pivot, j], m[c, j]);
            double d = m[c, c];
            for (int j = 0; j < 2 * M; j++) m[c, j] /= d;
            for (int r = 0; r < M; r++)
            {
                if (r == c) continue;
                double f = m[r, c];
                if (f == 0) continue;
                for (int j = 0; j < 2 * M; j++) m[r, j] -= f * m[c, j];
            }
        }
        var inv = new double[M, M];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < M; j++) inv[i, j] = m[i, M + j];
        return inv;
    }
}
