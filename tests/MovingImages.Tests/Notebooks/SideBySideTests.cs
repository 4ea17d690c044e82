using MovingImages.Interactive;
using OpenCvSharp;

namespace MovingImages.Tests.Notebooks;

public class SideBySideTests
{
    [Fact]
    public void Images_of_other_heights_are_scaled_and_an_empty_one_is_named()
    {
        using var a = new Mat(100, 200, MatType.CV_8UC3, Scalar.All(10));
        using var b = new Mat(50, 50, MatType.CV_8UC3, Scalar.All(200));
        using (var both = NotebookDisplay.SideBySide((a, "before"), (b, "after")))
            Assert.Equal((300, 100), (both.Cols, both.Rows));
        using var empty = new Mat();
        var e = Assert.Throws<ArgumentException>(() => NotebookDisplay.SideBySide((a, "before"), (empty, "after"))); // was DivideByZeroException
        Assert.Contains("image 'after' is empty", e.Message);
    }
}
