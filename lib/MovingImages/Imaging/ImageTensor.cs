using MovingImages.Geometry;
using OpenCvSharp;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MovingImages.Imaging;

/// <summary>Conversions between OpenCV images (BGR, 8-bit) and TorchSharp tensors.</summary>
public static class ImageTensor
{
    /// <summary>
    /// Copies an 8-bit image (BGR, grey or BGRA) into a 1×3×H×W float tensor, RGB in [0, 1], on <paramref name="device"/>.
    /// </summary>
    public static Tensor ToRgbTensor(Mat image, Device? device = null)
    {
        using var hwc = ToBgrBytes(image);
        using var scope = torch.NewDisposeScope();
        var t = hwc.to(device ?? torch.CPU).permute(2, 0, 1).flip(0).unsqueeze(0).to_type(ScalarType.Float32).div_(Runtime.Scalars.ByteMax);
        return t.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Copies an 8-bit image into an H×W×3 uint8 tensor in BGR order (CPU).</summary>
    public static Tensor ToBgrBytes(Mat image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Empty()) throw new ArgumentException("the image is empty");
        Mat bgr = image;
        bool owned = false;
        try
        {
            if (image.Depth() != MatType.CV_8U)
                throw new ArgumentException($"expected an 8-bit image, got {image.Type()}");
            if (image.Channels() == 1) { bgr = new Mat(); Cv2.CvtColor(image, bgr, ColorConversionCodes.GRAY2BGR); owned = true; }
            else if (image.Channels() == 4) { bgr = new Mat(); Cv2.CvtColor(image, bgr, ColorConversionCodes.BGRA2BGR); owned = true; }
            else if (image.Channels() != 3) throw new ArgumentException($"expected 1, 3 or 4 channels, got {image.Channels()}");
            if (!bgr.IsContinuous()) { var c = bgr.Clone(); if (owned) bgr.Dispose(); bgr = c; owned = true; }
            int h = bgr.Rows, w = bgr.Cols;
            var t = torch.empty([h, w, 3], ScalarType.Byte);
            unsafe
            {
                new ReadOnlySpan<byte>((void*)bgr.Data, h * w * 3).CopyTo(t.bytes);
            }
            return t;
        }
        finally
        {
            if (owned) bgr.Dispose();
        }
    }

    /// <summary>Turns a 3×H×W (or 1×3×H×W) RGB float tensor in [0, 1] into a new 8-bit BGR image.</summary>
    public static Mat ToBgrMat(Tensor rgb)
    {
        using var scope = torch.NewDisposeScope();
        var t = rgb.dim() == 4 ? rgb[0] : rgb;
        if (t.dim() != 3 || t.shape[0] != 3) throw new ArgumentException($"expected 3×H×W, got [{string.Join(",", rgb.shape)}]");
        var bytes = t.detach().to(torch.CPU).to_type(ScalarType.Float32).clamp(Runtime.Scalars.Zero, Runtime.Scalars.One).mul(Runtime.Scalars.ByteMax).round()
            .to_type(ScalarType.Byte).flip(0).permute(1, 2, 0).contiguous();
        int h = (int)bytes.shape[0], w = (int)bytes.shape[1];
        var mat = new Mat(h, w, MatType.CV_8UC3);
        unsafe
        {
            bytes.bytes.CopyTo(new Span<byte>((void*)mat.Data, h * w * 3));
        }
        return mat;
    }

    /// <summary>
    /// Darknet's letterbox on a 1×3×H×W RGB tensor: bilinear resize with aligned corners (darknet's
    /// <c>resize_image</c>) to the letterbox's scaled size, centred on a 0.5 grey canvas of the network size.
    /// </summary>
    public static Tensor Letterbox(Tensor rgb, Letterbox box)
    {
        using var scope = torch.NewDisposeScope();
        var resized = rgb.shape[2] == box.ScaledHeight && rgb.shape[3] == box.ScaledWidth
            ? rgb.alias()
            : F.interpolate(rgb, [box.ScaledHeight, box.ScaledWidth], mode: InterpolationMode.Bilinear, align_corners: true);
        int left = box.OffsetX, top = box.OffsetY;
        int right = box.NetWidth - box.ScaledWidth - left, bottom = box.NetHeight - box.ScaledHeight - top;
        var padded = F.pad(resized, [left, right, top, bottom], PaddingModes.Constant, Geometry.Letterbox.PadValue);
        return padded.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Letterboxes images into one N×3×S×S tensor on <paramref name="device"/> (RGB in [0, 1], grey padding) and
    /// returns it with each image's letterbox geometry.
    /// </summary>
    public static (Tensor Input, IReadOnlyList<Letterbox> Letterboxes) LetterboxBatch(IReadOnlyList<Mat> images, int size, Device? device = null)
    {
        if (images.Count == 0) throw new ArgumentException("no images");
        using var scope = torch.NewDisposeScope();
        var boxes = new Letterbox[images.Count];
        var tensors = new Tensor[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            boxes[i] = Geometry.Letterbox.Compute(images[i].Cols, images[i].Rows, size, size);
            tensors[i] = Letterbox(ToRgbTensor(images[i], device), boxes[i]);
        }
        var input = tensors.Length == 1 ? tensors[0] : torch.cat(tensors, 0);
        return (input.MoveToOuterDisposeScope(), boxes);
    }
}
