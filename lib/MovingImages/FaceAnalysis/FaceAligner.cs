using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.FaceAnalysis;

/// <summary>A face warped to a canonical pose, with the matrices to get there and back. Owns its crop (a class, not a record: no value equality or <c>with</c> copies of a native image).</summary>
/// <param name="image">The aligned crop (size × size, 8-bit BGR), owned from here.</param>
/// <param name="toCrop">2×3 similarity from image pixels to crop pixels.</param>
/// <param name="toImage">2×3 inverse: crop pixels back to image pixels.</param>
/// <param name="landmarks">The landmarks in crop pixels.</param>
public sealed class AlignedFace(Mat image, double[,] toCrop, double[,] toImage, Point2f[] landmarks) : IDisposable
{
    /// <summary>The aligned crop (size × size, 8-bit BGR).</summary>
    public Mat Image { get; } = image;
    /// <summary>2×3 similarity from image pixels to crop pixels.</summary>
    public double[,] ToCrop { get; } = toCrop;
    /// <summary>2×3 inverse: crop pixels back to image pixels.</summary>
    public double[,] ToImage { get; } = toImage;
    /// <summary>The landmarks in crop pixels.</summary>
    public Point2f[] Landmarks { get; } = landmarks;

    /// <summary>Releases the crop.</summary>
    public void Dispose() => Image.Dispose();
}

/// <summary>
/// Aligns faces as faceswap does: a similarity transform (Umeyama's least squares, with scale) from landmarks 17–67
/// (brows, nose, eyes, mouth) to the mean-face template, scaled so the template covers <c>coverage</c> of the crop.
/// </summary>
public static class FaceAligner
{
    /// <summary>The mean face (dlib's 68-point layout without the jaw, points 17–67), in [0, 1] (faceswap's template).</summary>
    public static readonly Point2d[] MeanFace = MakeMeanFace();

    /// <summary>faceswap's legacy coverage: 160 of 256 pixels (48 pixels of padding each side).</summary>
    public const double DefaultCoverage = 0.625;

    static Point2d[] MakeMeanFace()
    {
        double[] x =
        [
            0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127, 0.490127, 0.490127,
            0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647,
            0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159,
            0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
        ];
        double[] y =
        [
            0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352, 0.307009,
            0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077,
            0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233,
            0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
        ];
        return x.Zip(y, (a, b) => new Point2d(a, b)).ToArray();
    }

    /// <summary>The template's points in a crop of <paramref name="size"/> pixels at <paramref name="coverage"/>.</summary>
    public static Point2d[] Template(int size, double coverage = DefaultCoverage)
    {
        double scale = size * coverage, pad = (size - scale) / 2;
        return MeanFace.Select(p => new Point2d(p.X * scale + pad, p.Y * scale + pad)).ToArray();
    }

    /// <summary>The image→crop matrix for these landmarks.</summary>
    public static double[,] Matrix(FaceLandmarks68 landmarks, int size, double coverage = DefaultCoverage)
    {
        if (landmarks.Points.Length != 68) throw new ArgumentException($"expected 68 landmarks, got {landmarks.Points.Length}");
        return Similarity.Umeyama(landmarks.Points[17..].Select(p => new Point2d(p.X, p.Y)).ToArray(), Template(size, coverage));
    }

    /// <summary>Cuts out the face aligned to the template, <paramref name="size"/> × <paramref name="size"/> pixels.</summary>
    public static AlignedFace Align(Mat image, FaceLandmarks68 landmarks, int size = 256, double coverage = DefaultCoverage)
    {
        if (size < 16) throw new ArgumentException($"crop size must be at least 16, got {size}");
        var toCrop = Matrix(landmarks, size, coverage);
        using var m = ToMat(toCrop);
        var crop = new Mat();
        Cv2.WarpAffine(image, crop, m, new Size(size, size), InterpolationFlags.Linear, BorderTypes.Replicate);
        return new AlignedFace(crop, toCrop, Similarity.Invert(toCrop), landmarks.Points.Select(p => Similarity.Apply(toCrop, p)).ToArray());
    }

    /// <summary>
    /// Pastes <paramref name="crop"/> (an aligned face, possibly changed) back into a copy of <paramref name="frame"/>
    /// through <paramref name="toImage"/>, blended by <paramref name="mask"/> (8-bit, crop-sized, 255 = new face).
    /// </summary>
    public static Mat PasteBack(Mat frame, Mat crop, double[,] toImage, Mat mask)
    {
        using var m = ToMat(toImage);
        using var warped = new Mat();
        using var warpedMask = new Mat();
        Cv2.WarpAffine(crop, warped, m, frame.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        Cv2.WarpAffine(mask, warpedMask, m, frame.Size(), InterpolationFlags.Linear, BorderTypes.Constant);
        using var alpha = new Mat();
        warpedMask.ConvertTo(alpha, MatType.CV_32F, 1 / 255.0);
        using var alpha3 = new Mat();
        Cv2.Merge([alpha, alpha, alpha], alpha3);
        using var f = new Mat();
        using var c = new Mat();
        frame.ConvertTo(f, MatType.CV_32FC3);
        warped.ConvertTo(c, MatType.CV_32FC3);
        using var ones = new Mat(alpha3.Size(), MatType.CV_32FC3, Scalar.All(1));
        using var inverse = new Mat();
        Cv2.Subtract(ones, alpha3, inverse);
        using var a = new Mat();
        using var b = new Mat();
        Cv2.Multiply(c, alpha3, a);
        Cv2.Multiply(f, inverse, b);
        using var sum = new Mat();
        Cv2.Add(a, b, sum);
        var result = new Mat();
        sum.ConvertTo(result, MatType.CV_8UC3);
        return result;
    }

    /// <summary>A mask of the landmarks' convex hull in crop pixels, eroded by <paramref name="erode"/> and feathered by <paramref name="blur"/> pixels.</summary>
    public static Mat HullMask(Point2f[] cropLandmarks, int size, int erode = 0, int blur = 0)
    {
        var mask = new Mat(size, size, MatType.CV_8UC1, Scalar.All(0));
        var hull = Cv2.ConvexHull(cropLandmarks.Select(p => new Point((int)Math.Round(p.X), (int)Math.Round(p.Y))).ToArray());
        Cv2.FillConvexPoly(mask, hull, Scalar.All(255), LineTypes.Link8);
        if (erode > 0)
        {
            using var kernel = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(2 * erode + 1, 2 * erode + 1));
            Cv2.Erode(mask, mask, kernel);
        }
        if (blur > 0) Cv2.GaussianBlur(mask, mask, new Size(2 * blur + 1, 2 * blur + 1), 0);
        return mask;
    }

    /// <summary>
    /// faceswap's "extended" mask: the convex hull of the 68 landmarks with the brows raised halfway again above the
    /// eyes (each brow point moved away from the eye point below it by half their distance; the outer ends from points
    /// between the eye corners and the jaw), so the mask reaches up the forehead — in crop pixels, 255 inside.
    /// </summary>
    public static Mat ExtendedHullMask(Point2f[] cropLandmarks, int size)
    {
        if (cropLandmarks.Length != 68) throw new ArgumentException($"expected 68 landmarks, got {cropLandmarks.Length}");
        var p = cropLandmarks.Select(q => new Point2d(q.X, q.Y)).ToArray();
        static Point2d Mid(Point2d a, Point2d b) => new((a.X + b.X) / 2, (a.Y + b.Y) / 2);
        var ql = Mid(p[36], Mid(p[36], p[0]));        // between the left eye's outer corner and the jaw's top
        var qr = Mid(p[45], Mid(p[16], p[45]));
        Point2d[] below = [ql, p[36], p[37], p[38], p[39], p[42], p[43], p[44], p[45], qr];
        var points = (Point2d[])p.Clone();
        for (int i = 0; i < 10; i++)
        {
            var brow = p[17 + i];
            points[17 + i] = new Point2d(brow.X + (brow.X - below[i].X) / 2, brow.Y + (brow.Y - below[i].Y) / 2);
        }
        var mask = new Mat(size, size, MatType.CV_8UC1, Scalar.All(0));
        var hull = Cv2.ConvexHull(points.Select(q => new Point((int)Math.Round(q.X), (int)Math.Round(q.Y))).ToArray());
        Cv2.FillConvexPoly(mask, hull, Scalar.All(255), LineTypes.Link8);
        return mask;
    }

    /// <summary>A 2×3 matrix as the OpenCV Mat that WarpAffine takes (the caller disposes it).</summary>
    public static Mat ToMat(double[,] m) => Mat.FromPixelData(2, 3, MatType.CV_64FC1, new[] { m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2] });
}
