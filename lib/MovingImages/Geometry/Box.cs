namespace MovingImages.Geometry;

/// <summary>An axis-aligned box in pixels: top-left corner, width and height.</summary>
public readonly record struct Box(float X, float Y, float Width, float Height)
{
    /// <summary>Right edge (X + Width).</summary>
    public float Right => X + Width;
    /// <summary>Bottom edge (Y + Height).</summary>
    public float Bottom => Y + Height;
    /// <summary>Centre x.</summary>
    public float CenterX => X + Width / 2;
    /// <summary>Centre y.</summary>
    public float CenterY => Y + Height / 2;
    /// <summary>Area (0 for empty boxes).</summary>
    public float Area => Math.Max(0, Width) * Math.Max(0, Height);

    /// <summary>A box from its centre and size.</summary>
    public static Box FromCenter(float cx, float cy, float w, float h) => new(cx - w / 2, cy - h / 2, w, h);

    /// <summary>A box from its corners.</summary>
    public static Box FromCorners(float left, float top, float right, float bottom) => new(left, top, right - left, bottom - top);

    /// <summary>Intersection over union with <paramref name="other"/> (0 when either is empty).</summary>
    public float IoU(Box other)
    {
        float w = Math.Min(Right, other.Right) - Math.Max(X, other.X);
        float h = Math.Min(Bottom, other.Bottom) - Math.Max(Y, other.Y);
        if (w <= 0 || h <= 0) return 0;
        float inter = w * h;
        float union = Area + other.Area - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>This box clipped to [0, width] × [0, height].</summary>
    public Box ClipTo(int width, int height) => FromCorners(
        Math.Clamp(X, 0, width), Math.Clamp(Y, 0, height), Math.Clamp(Right, 0, width), Math.Clamp(Bottom, 0, height));

    /// <inheritdoc/>
    public override string ToString() => $"({X:0.#}, {Y:0.#}, {Width:0.#}×{Height:0.#})";
}
