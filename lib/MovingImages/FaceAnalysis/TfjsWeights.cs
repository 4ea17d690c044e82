using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MovingImages.FaceAnalysis;

/// <summary>A tfjs weights file that cannot be used; the message names the file and tensor.</summary>
public sealed class TfjsWeightsException(string message) : IOException(message);

/// <summary>
/// TensorFlow.js weights: a <c>*-weights_manifest.json</c> (groups of shard paths and per-tensor name, shape, dtype (float32 or int32, read as float) and
/// optional uint8/uint16/float16 quantisation) and its <c>.bin</c> shards, read into named float32 tensors (TF layouts:
/// convolution filters HWIO, depthwise filters [h, w, in, multiplier]); <see cref="Conv"/> and <see cref="Depthwise"/>
/// convert them to torch's.
/// </summary>
public sealed class TfjsWeights : IDisposable
{
    readonly Dictionary<string, Tensor> _tensors;

    TfjsWeights(string source, Dictionary<string, Tensor> tensors)
    {
        Source = source;
        _tensors = tensors;
    }

    /// <summary>The manifest path.</summary>
    public string Source { get; }
    /// <summary>Tensor names in the manifest.</summary>
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    /// <summary>Reads a manifest and its shards (shard paths relative to the manifest).</summary>
    public static TfjsWeights Load(string manifestPath)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"tfjs weights manifest not found: {manifestPath}. Run `movingimages fetch faces`.", manifestPath);
        string name = Path.GetFileName(manifestPath);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(manifestPath)); }
        catch (JsonException e) { throw new TfjsWeightsException($"{name}: not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new TfjsWeightsException($"{name}: expected a JSON array of weight groups");
            var tensors = new Dictionary<string, Tensor>();
            try
            {
                foreach (var group in doc.RootElement.EnumerateArray())
                {
                    var paths = group.GetProperty("paths").EnumerateArray().Select(p => p.GetString()!).ToArray();
                    var bytes = paths.SelectMany(p => File.ReadAllBytes(ShardPath(manifestPath, name, p))).ToArray();
                    int offset = 0;
                    foreach (var w in group.GetProperty("weights").EnumerateArray())
                    {
                        string tensorName = w.GetProperty("name").GetString()!;
                        long[] shape = w.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                        if (shape.Any(d => d < 1))
                            throw new TfjsWeightsException($"{name}: tensor '{tensorName}' has shape [{string.Join(",", shape)}]; every dimension must be at least 1");
                        long count = 1;
                        foreach (long d in shape)
                            if ((count *= d) > bytes.Length)
                                throw new TfjsWeightsException($"{name}: tensor '{tensorName}' [{string.Join(",", shape)}] has more values than its shards have bytes ({bytes.Length:N0})");
                        string dtype = w.GetProperty("dtype").GetString()!;
                        if (dtype is not ("float32" or "int32")) throw new TfjsWeightsException($"{name}: tensor '{tensorName}' has dtype '{dtype}'; expected float32 or int32");
                        float[] values;
                        if (w.TryGetProperty("quantization", out var q))
                        {
                            string qtype = q.GetProperty("dtype").GetString()!;
                            int size = qtype switch
                            {
                                "uint8" => 1,
                                "uint16" or "float16" => 2,
                                _ => throw new TfjsWeightsException($"{name}: tensor '{tensorName}' uses quantization dtype '{qtype}'; expected uint8, uint16 or float16"),
                            };
                            Need(bytes, offset, count * size, name, tensorName, shape);
                            values = new float[count];
                            if (qtype == "float16")
                                for (int i = 0; i < count; i++) values[i] = (float)BitConverter.ToHalf(bytes, offset + 2 * i);
                            else
                            {
                                double scale = q.GetProperty("scale").GetDouble(), min = q.GetProperty("min").GetDouble();
                                double top = min + scale * (size == 1 ? 255 : 65535);
                                if (!(scale > 0) || !double.IsFinite(min) || !double.IsFinite(top) || Math.Max(Math.Abs(min), Math.Abs(top)) > MaxQuantizedMagnitude)
                                    throw new TfjsWeightsException($"{name}: tensor '{tensorName}' has quantization scale {scale} and min {min} (values {min:G4} to {top:G4}); " +
                                                                   $"expected a positive scale and values within ±{MaxQuantizedMagnitude:N0} (a trained network's weights)");
                                for (int i = 0; i < count; i++)
                                    values[i] = (float)((size == 1 ? bytes[offset + i] : BitConverter.ToUInt16(bytes, offset + 2 * i)) * scale + min);
                            }
                            offset += (int)(count * size);
                        }
                        else
                        {
                            Need(bytes, offset, count * 4, name, tensorName, shape);
                            values = new float[count];
                            if (dtype == "int32")
                                for (int i = 0; i < count; i++) values[i] = BitConverter.ToInt32(bytes, offset + 4 * i);
                            else Buffer.BlockCopy(bytes, offset, values, 0, (int)(count * 4));
                            offset += (int)(count * 4);
                        }
                        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
                        if (bad >= 0)
                            throw new TfjsWeightsException($"{name}: tensor '{tensorName}' value {bad} is {values[bad]}: the shard is damaged; run `movingimages fetch faces` again");
                        tensors[tensorName] = torch.tensor(values, shape);
                    }
                    if (offset != bytes.Length)
                        throw new TfjsWeightsException($"{name}: the manifest's tensors use {offset:N0} bytes but the shards {string.Join(", ", paths)} hold {bytes.Length:N0}; manifest and shards do not match");
                }
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                foreach (var t in tensors.Values) t.Dispose();
                throw new TfjsWeightsException($"{name}: malformed manifest: {e.Message}");
            }
            catch
            {
                foreach (var t in tensors.Values) t.Dispose();
                throw;
            }
            return new TfjsWeights(manifestPath, tensors);
        }
    }

    /// <summary>
    /// Builds a network from the manifest at <paramref name="manifestPath"/> and runs it once on zeros
    /// (<paramref name="dryRun"/>), so that tensors of the right size but the wrong shape (two dimensions swapped, a
    /// layer from another model) fail here, as one <see cref="TfjsWeightsException"/> naming the file, instead of deep
    /// inside libtorch at the first image.
    /// </summary>
    internal static T Build<T>(string manifestPath, Func<TfjsWeights, T> create, Action<T> dryRun) where T : class, IDisposable
    {
        using var weights = Load(manifestPath);
        T? network = null;
        try
        {
            network = create(weights);
            using (torch.NewDisposeScope())
            using (torch.no_grad())
                dryRun(network);
            return network;
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            network?.Dispose();
            string first = e.Message.Split('\n', 2)[0].Trim();
            throw new TfjsWeightsException($"{Path.GetFileName(manifestPath)}: its tensors do not fit the {typeof(T).Name} network (dimensions swapped, or a layer of another model?): {first}");
        }
    }

    /// <summary>Largest weight magnitude a quantized tensor may decode to.</summary>
    const double MaxQuantizedMagnitude = 10_000;

    /// <summary>
    /// A shard's path: relative to the manifest's folder and inside it (a manifest from the web must not make us read
    /// <c>../../etc/passwd</c> or an absolute path as weights).
    /// </summary>
    static string ShardPath(string manifestPath, string name, string? relative)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        if (string.IsNullOrEmpty(relative) || Path.IsPathRooted(relative))
            throw new TfjsWeightsException($"{name}: shard path '{relative}' must be a file name relative to the manifest's folder");
        string shard = Path.GetFullPath(Path.Combine(folder, relative));
        if (!shard.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new TfjsWeightsException($"{name}: shard path '{relative}' points outside the manifest's folder {folder}");
        if (!File.Exists(shard)) throw new FileNotFoundException($"{name}: shard {relative} not found next to the manifest", shard);
        return shard;
    }

    static void Need(byte[] bytes, int offset, long length, string file, string tensor, long[] shape)
    {
        if (offset + length > bytes.Length)
            throw new TfjsWeightsException($"{file}: tensor '{tensor}' [{string.Join(",", shape)}] needs bytes {offset:N0}–{offset + length:N0} but the shards end at {bytes.Length:N0} (truncated .bin?)");
    }

    /// <summary>A tensor as stored, checked against the expected shape.</summary>
    public Tensor Get(string name, params long[] shape)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new TfjsWeightsException($"{Path.GetFileName(Source)}: no tensor '{name}'");
        if (shape.Length > 0 && !t.shape.SequenceEqual(shape))
            throw new TfjsWeightsException($"{Path.GetFileName(Source)}: tensor '{name}' is [{string.Join(",", t.shape)}], expected [{string.Join(",", shape)}]");
        return t;
    }

    /// <summary>A convolution filter, TF HWIO → torch OIHW.</summary>
    public Tensor Conv(string name) => Get(name).permute(3, 2, 0, 1).contiguous();

    /// <summary>A depthwise filter, TF [h, w, in, mult] → torch [in·mult, 1, h, w] (groups = in).</summary>
    public Tensor Depthwise(string name)
    {
        var t = Get(name);
        if (t.dim() != 4) throw new TfjsWeightsException($"{Path.GetFileName(Source)}: depthwise filter '{name}' has {t.dim()} dimensions, expected 4");
        long h = t.shape[0], w = t.shape[1], c = t.shape[2], m = t.shape[3];
        return t.permute(2, 3, 0, 1).reshape(c * m, 1, h, w).contiguous();
    }

    /// <summary>Releases the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
    }
}
