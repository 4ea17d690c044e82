using OpenCvSharp;
using MovingImages.Geometry;

namespace MovingImages.Drawing;

/// <summary>How annotations look. Sizes of 0 mean "scale with the image".</summary>
/// <param name="LineWidth">Box outline width in pixels (0: darknet's height × 0.006, at least 1).</param>
/// <param name="FontScale">Hershey font scale (0: from the image size).</param>
/// <param name="ShowScore">Append the score to the label.</param>
public sealed record AnnotationStyle(int LineWidth = 0, double FontScale = 0, bool ShowScore = true)
{
    /// <summary>The default style.</summary>
    public static AnnotationStyle Default { get; } = new();
}

/// <summary>Draws labelled boxes. Never draws on the caller's image: every method returns a new one.</summary>
public static class Annotator
{
    static readonly float[,] DarknetColors = { { 1, 0, 1 }, { 0, 0, 1 }, { 0, 1, 1 }, { 0, 1, 0 }, { 1, 1, 0 }, { 1, 0, 0 } };

    /// <summary>
    /// A stable colour for class <paramref name="classId"/> out of <paramref name="classCount"/> (darknet's palette:
    /// the same class always gets the same colour, neighbouring classes get distinct ones).
    /// </summary>
    public static Scalar ClassColor(int classId, int classCount)
    {
        int count = Math.Max(1, classCount);
        int offset = (int)((long)classId * 123457 % count);
        double red = Channel(2, offset, count), green = Channel(1, offset, count), blue = Channel(0, offset, count);
        return new Scalar(blue * 255, green * 255, red * 255);

        static double Channel(int c, int x, int max)
        {
            float ratio = (float)x / max * 5;
            int i = (int)MathF.Floor(ratio), j = (int)MathF.Ceiling(ratio);
            ratio -= i;
            return (1 - ratio) * DarknetColors[i, c] + ratio * DarknetColors[j, c];
        }
    }

    /// <summary>Returns a copy of <paramref name="image"/> with each detection drawn as a box and a "label score" tag.</summary>
    public static Mat Draw(Mat image, IEnumerable<Detection> detections, int classCount = 80, AnnotationStyle? style = null) =>
        Draw(image, detections.Select(d => (d.Box, style?.ShowScore == false ? d.Label : $"{d.Label} {d.Score:0.00}", ClassColor(d.ClassId, classCount))), style);

    /// <summary>Returns a copy of <paramref name="image"/> with labelled boxes in the given colours.</summary>
    public static Mat Draw(Mat image, IEnumerable<(Box Box, string Label, Scalar Color)> boxes, AnnotationStyle? style = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        style ??= AnnotationStyle.Default;
        var canvas = image.Clone();
        int lineWidth = style.LineWidth > 0 ? style.LineWidth : Math.Max(1, (int)(image.Rows * 0.006));
        double fontScale = style.FontScale > 0 ? style.FontScale : Math.Max(0.35, Math.Min(image.Rows, image.Cols) / 900.0);
        int textThickness = Math.Max(1, lineWidth / 2);
        var placed = new List<Rect>();
        foreach (var (box, label, color) in boxes)
        {
            var rect = new Rect((int)MathF.Round(box.X), (int)MathF.Round(box.Y), Math.Max(1, (int)MathF.Round(box.Width)), Math.Max(1, (int)MathF.Round(box.Height)));
            Cv2.Rectangle(canvas, rect, color, lineWidth, LineTypes.Link8);
            if (string.IsNullOrEmpty(label)) continue;
            var size = Cv2.GetTextSize(label, HersheyFonts.HersheySimplex, fontScale, textThickness, out int baseline);
            int pad = Math.Max(2, lineWidth);
            int tagHeight = size.Height + baseline + pad;
            var tag = PlaceTag(rect, new Size(size.Width + pad, tagHeight), canvas.Size(), placed);
            placed.Add(tag);
            int left = tag.X, top = tag.Y;
            Cv2.Rectangle(canvas, tag, color, -1);
            double luminance = 0.114 * color.Val0 + 0.587 * color.Val1 + 0.299 * color.Val2;
            var ink = luminance > 140 ? Scalar.Black : Scalar.White;
            Cv2.PutText(canvas, label, new Point(left + pad / 2, top + size.Height + pad / 2), HersheyFonts.HersheySimplex, fontScale, ink, textThickness, LineTypes.AntiAlias);
        }
        return canvas;
    }

    /// <summary>
    /// Where a label tag of <paramref name="tag"/> size goes for <paramref name="box"/>: above it, else inside its top,
    /// below it, inside its bottom, or further down inside it — the first place inside the image that overlaps no tag in
    /// <paramref name="placed"/> (so crowded labels do not cover each other); above (or inside the top) when none is free.
    /// </summary>
    internal static Rect PlaceTag(Rect box, Size tag, Size canvas, IReadOnlyList<Rect> placed)
    {
        int left = Math.Clamp(box.X, 0, Math.Max(0, canvas.Width - tag.Width));
        var tops = new List<int> { box.Y - tag.Height, box.Y, box.Bottom, box.Bottom - tag.Height };
        for (int y = box.Y + tag.Height; y < box.Bottom - tag.Height; y += tag.Height) tops.Add(y);
        Rect? first = null;
        foreach (int top in tops)
        {
            if (top < 0 || top + tag.Height > canvas.Height) continue;
            var candidate = new Rect(left, top, tag.Width, tag.Height);
            first ??= candidate;
            if (!placed.Any(p => p.IntersectsWith(candidate))) return candidate;
        }
        return first ?? new Rect(left, Math.Clamp(box.Y, 0, Math.Max(0, canvas.Height - tag.Height)), tag.Width, tag.Height);
    }
}
