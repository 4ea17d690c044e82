using MovingImages.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.Imaging;

/// <summary>face-api.js's network input: an image padded to a square and resized, as a tensor.</summary>
internal static class SquareImage
{
    /// <summary>
    /// face-api's input preparation in one pass: the image zero-padded to a square (at the bottom/right, or centred as
    /// padToSquare(isCenterImage) does: Math.round(diff / 2) after, the rest before), then tf.image.resizeBilinear
    /// (legacy sampling) to <paramref name="size"/>. Returns 1×3×S×S RGB in 0–255 on <paramref name="device"/>.
    /// Computed on the original pixels only — the padded square is never built — so big photos stay cheap.
    /// </summary>
    public static Tensor Resize(OpenCvSharp.Mat image, int size, bool centred, Device device)
    {
        using var scope = torch.NewDisposeScope();
        using var hwc = ImageTensor.ToBgrBytes(image);                 // H×W×3 uint8, BGR
        long h = hwc.shape[0], w = hwc.shape[1], side = Math.Max(h, w);
        long diffH = side - h, diffW = side - w;
        long offY = centred ? diffH - (long)Math.Floor(diffH * 0.5 + 0.5) : 0;
        long offX = centred ? diffW - (long)Math.Floor(diffW * 0.5 + 0.5) : 0;
        var x = hwc.to(device);
        var rows = Sample(x, 0, side, offY, h, size);                          // S×W×3 float
        var both = Sample(rows, 1, side, offX, w, size);                        // S×S×3
        return both.flip(2).permute(2, 0, 1).unsqueeze(0).contiguous().MoveToOuterDisposeScope();

        static Tensor Sample(Tensor t, int dim, long padded, long offset, long original, int outSize)
        {
            double scale = (double)padded / outSize;
            var src = Scalars.Mul(Scalars.Arange(outSize, ScalarType.Float64), scale);
            var i0 = src.floor().to_type(ScalarType.Int64);
            var i1 = Scalars.Clamp(Scalars.Add(i0, 1L), 0L, padded - 1);
            var frac = (src - i0.to_type(ScalarType.Float64)).to_type(ScalarType.Float32);
            var j0 = Scalars.Sub(i0, offset);
            var j1 = Scalars.Sub(i1, offset);
            var valid0 = (Scalars.GreaterEqual(j0, 0) & Scalars.Less(j0, original)).to_type(ScalarType.Float32);
            var valid1 = (Scalars.GreaterEqual(j1, 0) & Scalars.Less(j1, original)).to_type(ScalarType.Float32);
            var shape = Enumerable.Repeat(1L, (int)t.dim()).ToArray();
            shape[dim] = outSize;
            var device = t.device;
            var a = t.index_select(dim, Scalars.Clamp(j0, 0L, original - 1).to(device)).to_type(ScalarType.Float32);
            var b = t.index_select(dim, Scalars.Clamp(j1, 0L, original - 1).to(device)).to_type(ScalarType.Float32);
            var wa = (Scalars.Sub(1.0, frac) * valid0).view(shape).to(device);
            var wb = (frac * valid1).view(shape).to(device);
            return Scalars.Sum(a * wa, b * wb);
        }
    }

    /// <summary><see cref="Resize"/>, then face-api's normalisation: minus the per-channel RGB mean, divided by 255.</summary>
    public static Tensor ResizeNormalized(OpenCvSharp.Mat image, int size, bool centred, float[] meanRgb, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var resized = Resize(image, size, centred, device);
        var mean = torch.tensor(meanRgb, device: device).view(1, 3, 1, 1);
        return Scalars.Div(resized - mean, 255.0).MoveToOuterDisposeScope();
    }
}
