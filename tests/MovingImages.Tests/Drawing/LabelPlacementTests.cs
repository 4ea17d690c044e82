using OpenCvSharp;
using MovingImages.Drawing;

namespace MovingImages.Tests.ObjectDetection;

public class LabelPlacementTests
{
    [Fact]
    public void Labels_of_boxes_at_the_same_place_do_not_cover_each_other_and_stay_in_the_image()
    {
        var canvas = new Size(640, 480);
        var tag = new Size(90, 20);
        var placed = new List<Rect>();
        foreach (var box in new[] { new Rect(100, 100, 120, 160), new Rect(104, 102, 118, 150), new Rect(98, 99, 125, 170), new Rect(600, 470, 30, 8) })
        {
            var t = Annotator.PlaceTag(box, tag, canvas, placed);
            Assert.DoesNotContain(placed, p => p.IntersectsWith(t));                       // was: all three at (100, 80)
            Assert.True(t.X >= 0 && t.Y >= 0 && t.Right <= canvas.Width && t.Bottom <= canvas.Height, $"{t} leaves the image");
            placed.Add(t);
        }
        Assert.Equal(new Rect(100, 80, 90, 20), placed[0]);                                 // the first one where it always was: above its box
    }
}
