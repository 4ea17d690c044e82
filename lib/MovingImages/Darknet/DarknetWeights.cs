using System.Runtime.InteropServices;

namespace MovingImages.Darknet;

/// <summary>The header of a darknet <c>.weights</c> file.</summary>
/// <param name="Major">Format major version.</param>
/// <param name="Minor">Format minor version.</param>
/// <param name="Revision">Format revision.</param>
/// <param name="Seen">Images seen in training; stored as 64 bits when (major·10 + minor) ≥ 2, else 32 bits.</param>
public sealed record DarknetWeightsHeader(int Major, int Minor, int Revision, long Seen)
{
    /// <summary>The header of the official YOLOv3 COCO weights (0.2.0).</summary>
    public static DarknetWeightsHeader Default { get; } = new(0, 2, 0, 32013312);

    /// <summary>Whether <see cref="Seen"/> is stored in 64 bits.</summary>
    public bool SeenIs64Bit => Major * 10 + Minor >= 2;

    /// <summary>Header size in bytes: 20 for current files, 16 for old ones.</summary>
    public int ByteCount => 12 + (SeenIs64Bit ? 8 : 4);
}

/// <summary>Batch-norm parameters of one convolutional layer, as darknet stores them.</summary>
/// <param name="Scales">γ per filter.</param>
/// <param name="RollingMean">Running mean per filter.</param>
/// <param name="RollingVariance">Running variance per filter.</param>
public sealed record BatchNormWeights(float[] Scales, float[] RollingMean, float[] RollingVariance);

/// <summary>The weights of one convolutional layer.</summary>
/// <param name="LayerIndex">Which layer of the config these belong to.</param>
/// <param name="Biases">Per filter: β with batch norm, else the bias.</param>
/// <param name="BatchNorm">Batch-norm parameters, or null for layers without batch norm.</param>
/// <param name="Kernel">Filters × input channels × size × size, row-major (torch's OIHW).</param>
/// <param name="InputChannels">Input channels of the layer.</param>
public sealed record ConvWeights(int LayerIndex, float[] Biases, BatchNormWeights? BatchNorm, float[] Kernel, int InputChannels);

/// <summary>A darknet <c>.weights</c> file in memory: its header and every convolutional layer's weights in config order.</summary>
public sealed class DarknetWeights
{
    /// <summary>Creates weights from parts (checked against each other by <see cref="DarknetWeightsFile.Write(string, DarknetWeights, DarknetConfig)"/>).</summary>
    public DarknetWeights(DarknetWeightsHeader header, IReadOnlyList<ConvWeights> layers)
    {
        Header = header;
        Layers = layers;
    }

    /// <summary>The file header.</summary>
    public DarknetWeightsHeader Header { get; }
    /// <summary>Per convolutional layer, in the order of <see cref="DarknetConfig.ConvolutionalLayers"/>.</summary>
    public IReadOnlyList<ConvWeights> Layers { get; }

    /// <summary>The weights of the convolutional layer with config index <paramref name="layerIndex"/>.</summary>
    public ConvWeights ForLayer(int layerIndex) =>
        Layers.FirstOrDefault(l => l.LayerIndex == layerIndex) ?? throw new KeyNotFoundException($"no weights for layer {layerIndex}");

    /// <summary>Number of floats stored for a convolutional layer with <paramref name="inputChannels"/> inputs.</summary>
    public static long FloatCount(ConvolutionalLayer c, int inputChannels) =>
        (long)c.Filters * (c.BatchNormalize ? 4 : 1) + (long)c.Filters * inputChannels * c.Size * c.Size;

    /// <summary>Total floats a weights file for <paramref name="config"/> holds after its header.</summary>
    public static long FloatCount(DarknetConfig config)
    {
        var inputs = config.ConvolutionInputChannels();
        var convs = config.ConvolutionalLayers;
        long total = 0;
        for (int i = 0; i < convs.Count; i++) total += FloatCount(convs[i], inputs[i]);
        return total;
    }
}

/// <summary>A <c>.weights</c> file that does not fit its config or is damaged; the message says where and what was expected.</summary>
public sealed class DarknetWeightsException(string message) : IOException(message);

/// <summary>Reads and writes darknet <c>.weights</c> files.</summary>
public static class DarknetWeightsFile
{
    /// <summary>
    /// Reads <paramref name="path"/> for <paramref name="config"/>. The file size is checked against what the config
    /// needs before anything is allocated; a mismatch reports expected and actual byte counts.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="DarknetWeightsException">Wrong header, truncated, or extra bytes.</exception>
    public static DarknetWeights Read(string path, DarknetConfig config) => Read(path, config, allowNonFinite: false);

    /// <summary>
    /// Reads <paramref name="path"/> for <paramref name="config"/>; with <paramref name="allowNonFinite"/> false (the
    /// default elsewhere), a NaN or infinite value, or a negative batch-norm variance, is refused with its layer, config
    /// line and byte offset — such weights make every detection NaN, which reads as "0 objects". True lets them through
    /// (for experiments with damaged weights).
    /// </summary>
    public static DarknetWeights Read(string path, DarknetConfig config, bool allowNonFinite)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Darknet weights not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(stream, config, path, allowNonFinite);
    }

    /// <summary>Reads weights from a stream that supports <see cref="Stream.Length"/>; <paramref name="name"/> is used in messages.</summary>
    public static DarknetWeights Read(Stream stream, DarknetConfig config, string name, bool allowNonFinite = false)
    {
        long length = stream.Length;
        if (length < 16)
            throw new DarknetWeightsException($"{name}: {length} bytes is too short for a darknet weights header (16 or 20 bytes)");
        Span<byte> head = stackalloc byte[12];
        stream.ReadExactly(head);
        int major = BitConverter.ToInt32(head[..4]), minor = BitConverter.ToInt32(head[4..8]), revision = BitConverter.ToInt32(head[8..12]);
        if (major is < 0 or >= 1000 || minor is < 0 or >= 1000 || revision is < 0 or >= 1_000_000)
            throw new DarknetWeightsException($"{name}: byte 0: header version {major}.{minor}.{revision} is not a darknet weights header (expected small non-negative numbers such as 0.2.0); is this a .weights file?");
        var probe = new DarknetWeightsHeader(major, minor, revision, 0);
        if (length < probe.ByteCount)
            throw new DarknetWeightsException($"{name}: {length} bytes is too short for a darknet {major}.{minor}.{revision} weights header ({probe.ByteCount} bytes)");
        long seen;
        if (probe.SeenIs64Bit)
        {
            Span<byte> s = stackalloc byte[8];
            stream.ReadExactly(s);
            seen = BitConverter.ToInt64(s);
        }
        else
        {
            Span<byte> s = stackalloc byte[4];
            stream.ReadExactly(s);
            seen = BitConverter.ToInt32(s);
        }
        var header = probe with { Seen = seen };

        var convs = config.ConvolutionalLayers;
        var inputs = config.ConvolutionInputChannels();
        long floats = DarknetWeights.FloatCount(config);
        long expected = header.ByteCount + floats * 4;
        if (length != expected)
        {
            long diff = length - expected;
            string what = diff < 0 ? $"{-diff:N0} bytes short: truncated, or weights for a smaller network" : $"{diff:N0} bytes too many: weights for a larger network, or trailing data";
            throw new DarknetWeightsException(
                $"{name}: expected {expected:N0} bytes for {Path.GetFileName(config.Source)} ({header.ByteCount}-byte header + {floats:N0} floats in {convs.Count} convolutional layers), but the file has {length:N0} bytes ({what}).");
        }

        var layers = new List<ConvWeights>(convs.Count);
        for (int i = 0; i < convs.Count; i++)
        {
            var c = convs[i];
            float[] Next(string what, int count, bool nonNegative = false)
            {
                long offset = stream.Position;
                var values = ReadFloats(stream, count);
                if (!allowNonFinite) CheckValues(values, nonNegative, offset, $"{name}: layer {c.Index} (convolutional, line {c.Line} of {Path.GetFileName(config.Source)}), {what}");
                return values;
            }
            float[] biases = Next(c.BatchNormalize ? "batch-norm shifts" : "biases", c.Filters);
            BatchNormWeights? bn = null;
            if (c.BatchNormalize)
                bn = new BatchNormWeights(Next("batch-norm scales", c.Filters), Next("rolling means", c.Filters), Next("rolling variances", c.Filters, nonNegative: true));
            float[] kernel = Next("kernel", checked(c.Filters * inputs[i] * c.Size * c.Size));
            layers.Add(new ConvWeights(c.Index, biases, bn, kernel, inputs[i]));
        }
        return new DarknetWeights(header, layers);
    }

    /// <summary>Refuses a NaN or infinite value (or a negative one where <paramref name="nonNegative"/>), naming its byte offset.</summary>
    static void CheckValues(float[] values, bool nonNegative, long offset, string where)
    {
        int bad = -1, count = 0;
        for (int k = 0; k < values.Length; k++)
            if (!float.IsFinite(values[k]) || (nonNegative && values[k] < 0)) { if (bad < 0) bad = k; count++; }
        if (bad < 0) return;
        string what = float.IsFinite(values[bad]) ? $"a negative variance ({values[bad]})" : values[bad].ToString(System.Globalization.CultureInfo.InvariantCulture);
        throw new DarknetWeightsException(
            $"{where}: value {bad} at byte {offset + 4L * bad:N0} is {what}{(count > 1 ? $" ({count} such values in this array)" : "")}: the file is damaged. " +
            "Weights like these make every score NaN (no detections); fetch the file again, or read it with allowNonFinite: true to experiment.");
    }

    /// <summary>
    /// Writes <paramref name="weights"/> to <paramref name="path"/> in darknet's format, checked against <paramref name="config"/>.
    /// The file is written beside the target and renamed into place, so an existing file is never left half-written.
    /// </summary>
    public static void Write(string path, DarknetWeights weights, DarknetConfig config)
    {
        Validate(weights, config);
        IO.AtomicFile.Write(path, tmp =>
        {
            using var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            Write(stream, weights);
        });
    }

    /// <summary>Writes weights to a stream (no checks against a config).</summary>
    public static void Write(Stream stream, DarknetWeights weights)
    {
        var h = weights.Header;
        Span<byte> head = stackalloc byte[20];
        BitConverter.TryWriteBytes(head[..4], h.Major);
        BitConverter.TryWriteBytes(head[4..8], h.Minor);
        BitConverter.TryWriteBytes(head[8..12], h.Revision);
        if (h.SeenIs64Bit) BitConverter.TryWriteBytes(head[12..20], h.Seen);
        else BitConverter.TryWriteBytes(head[12..16], checked((int)h.Seen));
        stream.Write(head[..h.ByteCount]);
        foreach (var l in weights.Layers)
        {
            WriteFloats(stream, l.Biases);
            if (l.BatchNorm is { } bn)
            {
                WriteFloats(stream, bn.Scales);
                WriteFloats(stream, bn.RollingMean);
                WriteFloats(stream, bn.RollingVariance);
            }
            WriteFloats(stream, l.Kernel);
        }
    }

    static void Validate(DarknetWeights weights, DarknetConfig config)
    {
        var convs = config.ConvolutionalLayers;
        var inputs = config.ConvolutionInputChannels();
        if (weights.Layers.Count != convs.Count)
            throw new ArgumentException($"{weights.Layers.Count} layers of weights for {convs.Count} convolutional layers in {config.Source}");
        for (int i = 0; i < convs.Count; i++)
        {
            var c = convs[i];
            var l = weights.Layers[i];
            void Check(string what, int actual, int wanted)
            {
                if (actual != wanted) throw new ArgumentException($"layer {c.Index} (line {c.Line}): {what} has {actual} values, {wanted} expected");
            }
            Check("biases", l.Biases.Length, c.Filters);
            if (c.BatchNormalize != (l.BatchNorm != null))
                throw new ArgumentException($"layer {c.Index} (line {c.Line}): batch_normalize={(c.BatchNormalize ? 1 : 0)} but the weights {(l.BatchNorm == null ? "have no" : "have")} batch-norm parameters");
            if (l.BatchNorm is { } bn)
            {
                Check("scales", bn.Scales.Length, c.Filters);
                Check("rolling mean", bn.RollingMean.Length, c.Filters);
                Check("rolling variance", bn.RollingVariance.Length, c.Filters);
            }
            Check("kernel", l.Kernel.Length, c.Filters * inputs[i] * c.Size * c.Size);
        }
    }

    static float[] ReadFloats(Stream stream, int count)
    {
        var values = new float[count];
        stream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("darknet weights are little-endian");
        return values;
    }

    static void WriteFloats(Stream stream, float[] values) => stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
}
