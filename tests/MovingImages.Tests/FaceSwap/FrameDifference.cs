using OpenCvSharp;

namespace MovingImages.Tests.FaceSwap;

/// <summary>How a converted frame differs from its original: the grey-level difference, and its largest value outside a mask.</summary>
public static class FrameDifference
{
    /// <summary>|a − b| as one grey channel (the caller disposes it).</summary>
    public static Mat Gray(Mat a, Mat b)
    {
        using var diff = new Mat();
        Cv2.Absdiff(a, b, diff);
        var gray = new Mat();
        Cv2.CvtColor(diff, gray, ColorConversionCodes.BGR2GRAY);
        return gray;
    }

    /// <summary>The largest value of <paramref name="gray"/> where <paramref name="mask"/> is 0.</summary>
    public static double MaxOutside(Mat gray, Mat mask)
    {
        using var outside = new Mat();
        Cv2.Threshold(mask, outside, 0, 255, ThresholdTypes.BinaryInv);
        Cv2.MinMaxLoc(gray, out _, out double max, out _, out _, outside);
        return max;
    }
}
