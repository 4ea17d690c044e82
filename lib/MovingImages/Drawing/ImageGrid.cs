using OpenCvSharp;

namespace MovingImages.Drawing;

/// <summary>Lays images out in a grid: each row side by side, the rows one under the other.</summary>
public static class ImageGrid
{
    /// <summary>
    /// A new image of <paramref name="rows"/> (every image of a row the same height, every row the same width — as a
    /// training preview's face crops are); the inputs are not changed or disposed.
    /// </summary>
    public static Mat Compose(IReadOnlyList<IReadOnlyList<Mat>> rows)
    {
        if (rows.Count == 0 || rows.Any(r => r.Count == 0)) throw new ArgumentException("an image grid needs at least one image in every row");
        var joined = new List<Mat>();
        try
        {
            foreach (var row in rows)
            {
                var line = new Mat();
                Cv2.HConcat(row.ToArray(), line);
                joined.Add(line);
            }
            var grid = new Mat();
            Cv2.VConcat(joined.ToArray(), grid);
            return grid;
        }
        finally
        {
            joined.ForEach(m => m.Dispose());
        }
    }
}
