using OpenCvSharp;

namespace MovingImages.Geometry;

/// <summary>Similarity transforms (rotation, uniform scale, translation) as 2×3 matrices: fitted, applied, inverted.</summary>
public static class Similarity
{
    /// <summary>
    /// Umeyama (1991): the similarity transform (rotation, uniform scale, translation) that maps <paramref name="from"/>
    /// onto <paramref name="to"/> with least squared error. Returns it as a 2×3 matrix.
    /// </summary>
    public static double[,] Umeyama(IReadOnlyList<Point2d> from, IReadOnlyList<Point2d> to)
    {
        int n = from.Count;
        if (n != to.Count || n < 2) throw new ArgumentException($"need two equal lists of at least 2 points, got {from.Count} and {to.Count}");
        double mx = from.Average(p => p.X), my = from.Average(p => p.Y), nx = to.Average(p => p.X), ny = to.Average(p => p.Y);
        // covariance Σ = (1/n) Σ (to − μto)(from − μfrom)ᵀ and the variance of 'from'
        double a = 0, b = 0, c = 0, d = 0, variance = 0;
        for (int i = 0; i < n; i++)
        {
            double fx = from[i].X - mx, fy = from[i].Y - my, tx = to[i].X - nx, ty = to[i].Y - ny;
            a += tx * fx; b += tx * fy; c += ty * fx; d += ty * fy;
            variance += fx * fx + fy * fy;
        }
        a /= n; b /= n; c /= n; d /= n; variance /= n;
        // 2×2 SVD by closed form: Σ = U S Vᵀ
        using var sigma = Mat.FromPixelData(2, 2, MatType.CV_64FC1, new[] { a, b, c, d });
        using var w = new Mat();
        using var u = new Mat();
        using var vt = new Mat();
        Cv2.SVDecomp(sigma, w, u, vt);
        double det = Cv2.Determinant(u) * Cv2.Determinant(vt);
        double s1 = w.At<double>(0), s2 = w.At<double>(1) * (det < 0 ? -1 : 1);
        double e = det < 0 ? -1 : 1;
        double u00 = u.At<double>(0, 0), u01 = u.At<double>(0, 1), u10 = u.At<double>(1, 0), u11 = u.At<double>(1, 1);
        double v00 = vt.At<double>(0, 0), v01 = vt.At<double>(0, 1), v10 = vt.At<double>(1, 0), v11 = vt.At<double>(1, 1);
        // R = U · diag(1, e) · Vᵀ
        double r00 = u00 * v00 + e * u01 * v10, r01 = u00 * v01 + e * u01 * v11;
        double r10 = u10 * v00 + e * u11 * v10, r11 = u10 * v01 + e * u11 * v11;
        double scale = variance > 0 ? (s1 + s2) / variance : 1;
        return new[,]
        {
            { scale * r00, scale * r01, nx - scale * (r00 * mx + r01 * my) },
            { scale * r10, scale * r11, ny - scale * (r10 * mx + r11 * my) },
        };
    }

    /// <summary>Applies a 2×3 matrix to a point.</summary>
    public static Point2f Apply(double[,] m, Point2f p) =>
        new((float)(m[0, 0] * p.X + m[0, 1] * p.Y + m[0, 2]), (float)(m[1, 0] * p.X + m[1, 1] * p.Y + m[1, 2]));

    /// <summary>The inverse of a 2×3 similarity (or any invertible affine) matrix.</summary>
    public static double[,] Invert(double[,] m)
    {
        double det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0];
        if (Math.Abs(det) < 1e-12) throw new ArgumentException("the transform is not invertible");
        double i00 = m[1, 1] / det, i01 = -m[0, 1] / det, i10 = -m[1, 0] / det, i11 = m[0, 0] / det;
        return new[,] { { i00, i01, -(i00 * m[0, 2] + i01 * m[1, 2]) }, { i10, i11, -(i10 * m[0, 2] + i11 * m[1, 2]) } };
    }
}
