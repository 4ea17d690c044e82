namespace MovingImages.Geometry;

/// <summary>
/// Darknet's letterbox: the image scaled to fit the network input keeping its aspect ratio, centred, the rest grey.
/// Maps boxes between network-input and image coordinates.
/// </summary>
/// <param name="ImageWidth">Original image width.</param>
/// <param name="ImageHeight">Original image height.</param>
/// <param name="NetWidth">Network input width.</param>
/// <param name="NetHeight">Network input height.</param>
/// <param name="ScaledWidth">Width of the scaled image inside the input.</param>
/// <param name="ScaledHeight">Height of the scaled image inside the input.</param>
/// <param name="OffsetX">Left padding in input pixels.</param>
/// <param name="OffsetY">Top padding in input pixels.</param>
public sealed record Letterbox(int ImageWidth, int ImageHeight, int NetWidth, int NetHeight,
    int ScaledWidth, int ScaledHeight, int OffsetX, int OffsetY)
{
    /// <summary>The grey darknet fills the padding with.</summary>
    public const float PadValue = 0.5f;

    /// <summary>Computes the letterbox exactly as darknet's <c>letterbox_image</c> does (integer arithmetic).</summary>
    public static Letterbox Compute(int imageWidth, int imageHeight, int netWidth, int netHeight)
    {
        if (imageWidth <= 0 || imageHeight <= 0) throw new ArgumentException($"image size must be positive, got {imageWidth}×{imageHeight}");
        if (netWidth <= 0 || netHeight <= 0) throw new ArgumentException($"network size must be positive, got {netWidth}×{netHeight}");
        int w, h;
        if ((float)netWidth / imageWidth < (float)netHeight / imageHeight)
        {
            w = netWidth;
            h = Math.Max(1, imageHeight * netWidth / imageWidth);
        }
        else
        {
            h = netHeight;
            w = Math.Max(1, imageWidth * netHeight / imageHeight);
        }
        return new Letterbox(imageWidth, imageHeight, netWidth, netHeight, w, h, (netWidth - w) / 2, (netHeight - h) / 2);
    }

    /// <summary>Maps a box in network-input pixels to original-image pixels (not clipped).</summary>
    public Box ToImage(Box net)
    {
        float sx = (float)ImageWidth / ScaledWidth, sy = (float)ImageHeight / ScaledHeight;
        return new Box((net.X - OffsetX) * sx, (net.Y - OffsetY) * sy, net.Width * sx, net.Height * sy);
    }

    /// <summary>Maps a box in original-image pixels to network-input pixels.</summary>
    public Box ToNetwork(Box image)
    {
        float sx = (float)ScaledWidth / ImageWidth, sy = (float)ScaledHeight / ImageHeight;
        return new Box(image.X * sx + OffsetX, image.Y * sy + OffsetY, image.Width * sx, image.Height * sy);
    }

    /// <summary>Whether a network-input pixel (x, y) lies in the grey padding.</summary>
    public bool IsPadding(float x, float y) =>
        x < OffsetX || y < OffsetY || x >= OffsetX + ScaledWidth || y >= OffsetY + ScaledHeight;
}
