namespace MovingImages.ObjectDetection;

/// <summary>Class names, one per line (darknet's <c>coco.names</c>).</summary>
public sealed class ClassNames
{
    readonly string[] _names;

    /// <summary>Creates the list from names in class order.</summary>
    public ClassNames(IEnumerable<string> names) => _names = names.ToArray();

    /// <summary>Reads a names file; blank trailing lines are ignored.</summary>
    public static ClassNames Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Class names file not found: {path}", path);
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int blank = lines.FindIndex(l => l.Length == 0);
        if (blank >= 0) throw new FormatException($"{path}:{blank + 1}: empty class name");
        return new ClassNames(lines);
    }

    /// <summary>Placeholder names "class 0", "class 1", … for a model without a names file.</summary>
    public static ClassNames Numbered(int count) => new(Enumerable.Range(0, count).Select(i => $"class {i}"));

    /// <summary>Number of classes.</summary>
    public int Count => _names.Length;

    /// <summary>The name of class <paramref name="id"/>.</summary>
    public string this[int id] => id >= 0 && id < _names.Length ? _names[id] : $"class {id}";

    /// <summary>All names in order.</summary>
    public IReadOnlyList<string> All => _names;
}
