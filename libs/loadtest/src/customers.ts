/** Buyers for the load test: a mix of Chinese, Korean and Latin names, so emails and PDFs exercise CJK text. */
const FAMILY_NAMES = ['王', '李', '张', '刘', '陈', '김', '이', '박', '최', 'Smith', 'García', 'Nguyen'];
const GIVEN_NAMES = ['芳', '伟', '秀英', '敏', '静', '민준', '서연', '지우', '하은', 'Alex', 'Maria', 'Sam'];

export interface Customer {
  email: string;
  name: string;
}

/** The n-th buyer of run `runId`: a unique email, a name picked at random. */
export function customerFor(runId: string, n: number, random: () => number = Math.random): Customer {
  const family = FAMILY_NAMES[Math.floor(random() * FAMILY_NAMES.length)];
  const given = GIVEN_NAMES[Math.floor(random() * GIVEN_NAMES.length)];
  const isLatin = /^[A-Za-z]/.test(family) && /^[A-Za-z]/.test(given);
  return {
    email: `buyer-${n}@${runId}.loadtest.example`,
    name: isLatin ? `${given} ${family}` : `${family}${given}`,
  };
}

/** Every name customerFor can pick, JSON-encoded once, for request bodies built from a template. */
export const CUSTOMER_NAMES_JSON: readonly string[] = FAMILY_NAMES.flatMap((family) =>
  GIVEN_NAMES.map((given) => {
    const isLatin = /^[A-Za-z]/.test(family) && /^[A-Za-z]/.test(given);
    return JSON.stringify(isLatin ? `${given} ${family}` : `${family}${given}`);
  }),
);
