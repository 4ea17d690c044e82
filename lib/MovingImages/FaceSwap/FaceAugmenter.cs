using MovingImages.FaceAnalysis;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using Size = OpenCvSharp.Size;
using MovingImages.Geometry;

namespace MovingImages.FaceSwap;

/// <summary>
/// faceswap's training data: each aligned face gets a random transform (rotation, zoom, shift, flip) and a random warp —
/// a 5×5 grid of control points jittered by Gaussian noise. The warped face is the model's input; the target is the same
/// face mapped by the similarity that best fits the grid (un-warped), at the model's size. Seeded: the same seed gives
/// the same batches. The model sees <c>view</c> template squares of the face (<see cref="FaceSwapModelOptions.View"/>)
/// of a crop aligned at <see cref="FaceAligner.DefaultCoverage"/>.
/// </summary>
public sealed class FaceAugmenter(int outputSize, int seed, AugmentOptions? options = null, double view = 1)
{
    /// <summary>The share of the aligned crop the model sees.</summary>
    readonly double _coverage = FaceAligner.DefaultCoverage * FaceSwapModelOptions.ValidateView(view);

    readonly Random _rng = new(seed);
    readonly AugmentOptions _o = (options ?? AugmentOptions.Default).Validate();

    /// <summary>The model's input size.</summary>
    public int OutputSize { get; } = outputSize;

    double Uniform(double range) => (_rng.NextDouble() * 2 - 1) * range;
    double Gauss() => Math.Sqrt(-2 * Math.Log(1 - _rng.NextDouble())) * Math.Cos(2 * Math.PI * _rng.NextDouble());

    /// <summary>Random rotation, zoom, shift and flip of an aligned crop (a new image).</summary>
    public Mat RandomTransform(Mat face)
    {
        int size = face.Cols;
        double angle = Uniform(_o.RotationDegrees), scale = 1 + Uniform(_o.Zoom);
        double tx = Uniform(_o.Shift) * size, ty = Uniform(_o.Shift) * size;
        bool flip = _rng.NextDouble() < _o.FlipProbability;
        using var m = Cv2.GetRotationMatrix2D(new Point2f(size / 2f, size / 2f), angle, scale);
        m.Set(0, 2, m.At<double>(0, 2) + tx);
        m.Set(1, 2, m.At<double>(1, 2) + ty);
        var result = new Mat();
        Cv2.WarpAffine(face, result, m, face.Size(), InterpolationFlags.Linear, BorderTypes.Replicate);
        if (flip) Cv2.Flip(result, result, FlipMode.Y);
        return result;
    }

    /// <summary>The warped input and the un-warped target, both <see cref="OutputSize"/> square, from an aligned crop.</summary>
    public (Mat Warped, Mat Target) RandomWarp(Mat face)
    {
        int n = face.Cols, s = OutputSize;
        if (face.Rows != n) throw new ArgumentException($"expected a square aligned crop, got {face.Cols}×{face.Rows}");
        double half = _coverage * n / 2, noise = _o.WarpNoise * n / 256.0;
        var mapX = new double[5, 5];
        var mapY = new double[5, 5];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
            {
                mapX[i, j] = n / 2.0 - half + 2 * half * j / 4 + Gauss() * noise;
                mapY[i, j] = n / 2.0 - half + 2 * half * i / 4 + Gauss() * noise;
            }
        // Interpolate the 5×5 grid to (s + s/4)² and keep the middle s² (faceswap: 80² → [8:72]).
        int big = s + s / 4, off = s / 8;
        using var gx = Mat.FromPixelData(5, 5, MatType.CV_64FC1, Flatten(mapX));
        using var gy = Mat.FromPixelData(5, 5, MatType.CV_64FC1, Flatten(mapY));
        using var bx = new Mat();
        using var by = new Mat();
        Cv2.Resize(gx, bx, new Size(big, big));
        Cv2.Resize(gy, by, new Size(big, big));
        using var cx = new Mat(bx, new Rect(off, off, s, s));
        using var cy = new Mat(by, new Rect(off, off, s, s));
        using var fx = new Mat();
        using var fy = new Mat();
        cx.ConvertTo(fx, MatType.CV_32FC1);
        cy.ConvertTo(fy, MatType.CV_32FC1);
        var warped = new Mat();
        Cv2.Remap(face, warped, fx, fy, InterpolationFlags.Linear);

        var src = new List<Point2d>();
        var dst = new List<Point2d>();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
            {
                src.Add(new Point2d(mapX[i, j], mapY[i, j]));
                dst.Add(new Point2d(j * s / 4.0, i * s / 4.0));
            }
        var mat = Similarity.Umeyama(src, dst);
        using var m = FaceAligner.ToMat(mat);
        var target = new Mat();
        Cv2.WarpAffine(face, target, m, new Size(s, s));
        return (warped, target);
    }

    static double[] Flatten(double[,] a) => a.Cast<double>().ToArray();

    /// <summary>
    /// A batch from randomly chosen faces: N×3×S×S RGB tensors in [0, 1] (warped inputs and targets) on <paramref name="device"/>.
    /// </summary>
    public (Tensor Warped, Tensor Target) NextBatch(IReadOnlyList<Mat> faces, int batchSize, Device? device = null)
    {
        if (faces.Count == 0) throw new ArgumentException("no faces to train on");
        using var scope = torch.NewDisposeScope();
        var warped = new List<Tensor>();
        var target = new List<Tensor>();
        for (int i = 0; i < batchSize; i++)
        {
            using var transformed = RandomTransform(faces[_rng.Next(faces.Count)]);
            var (w, t) = RandomWarp(transformed);
            using (w) warped.Add(Imaging.ImageTensor.ToRgbTensor(w, device));
            using (t) target.Add(Imaging.ImageTensor.ToRgbTensor(t, device));
        }
        return (torch.cat(warped.ToArray(), 0).MoveToOuterDisposeScope(), torch.cat(target.ToArray(), 0).MoveToOuterDisposeScope());
    }
}
