/**
 * Fixed reference data of the shop generator: what people search for, the restaurants and
 * their menus, the marts and their products, review phrases. Order matters: list position is
 * popularity rank (search terms) and the generator's output depends on it.
 */

export interface SearchTerm {
  query: string;
  category: string;
}

/** Most popular first; popularity follows a Zipf law over this order. */
export const SEARCH_TERMS: readonly SearchTerm[] = [
  { query: '치킨', category: 'chicken' },
  { query: '피자', category: 'pizza' },
  { query: '떡볶이', category: 'korean-snack' },
  { query: '짜장면', category: 'chinese' },
  { query: '마라탕', category: 'chinese' },
  { query: 'chicken', category: 'chicken' },
  { query: '족발', category: 'korean' },
  { query: '햄버거', category: 'burger' },
  { query: '아이스 아메리카노', category: 'cafe' },
  { query: '초밥', category: 'japanese' },
  { query: '삼겹살', category: 'korean' },
  { query: 'pizza', category: 'pizza' },
  { query: '보쌈', category: 'korean' },
  { query: '김치찌개', category: 'korean' },
  { query: '냉면', category: 'korean' },
  { query: '돈까스', category: 'japanese' },
  { query: '버블티', category: 'cafe' },
  { query: 'burger', category: 'burger' },
  { query: '탕수육', category: 'chinese' },
  { query: '비빔밥', category: 'korean' },
  { query: '샐러드', category: 'salad' },
  { query: '곱창', category: 'korean' },
  { query: '파스타', category: 'western' },
  { query: 'tteokbokki', category: 'korean-snack' },
  { query: '양념치킨', category: 'chicken' },
  { query: '반반치킨', category: 'chicken' },
  { query: '순대', category: 'korean-snack' },
  { query: '쌀국수', category: 'asian' },
  { query: 'sushi', category: 'japanese' },
  { query: '카페라떼', category: 'cafe' },
  { query: '케이크', category: 'dessert' },
  { query: '마카롱', category: 'dessert' },
  { query: '김밥', category: 'korean-snack' },
  { query: '라면', category: 'grocery' },
  { query: 'salad', category: 'salad' },
  { query: '닭발', category: 'korean' },
  { query: '감자탕', category: 'korean' },
  { query: 'coffee', category: 'cafe' },
  { query: '우동', category: 'japanese' },
  { query: 'poke bowl', category: 'salad' },
  { query: '생수', category: 'grocery' },
  { query: '우유', category: 'grocery' },
  { query: 'air fryer', category: 'appliance' },
  { query: '에어프라이어', category: 'appliance' },
  { query: 'wireless earbuds', category: 'electronics' },
  { query: '무선 이어폰', category: 'electronics' },
  { query: 'iphone case', category: 'electronics' },
  { query: '휴대폰 케이스', category: 'electronics' },
  { query: 'running shoes', category: 'fashion' },
  { query: '러닝화', category: 'fashion' },
  { query: '텀블러', category: 'living' },
  { query: '물티슈', category: 'living' },
  { query: '기저귀', category: 'baby' },
  { query: '단백질 쉐이크', category: 'health' },
  { query: 'protein bar', category: 'health' },
  { query: '비타민', category: 'health' },
  { query: '캠핑 의자', category: 'outdoor' },
  { query: 'yoga mat', category: 'outdoor' },
  { query: '선크림', category: 'beauty' },
  { query: 'sunscreen', category: 'beauty' },
];

export interface MenuItem {
  sku: string;
  name: string;
  price: number;
}

export interface Restaurant {
  storeId: string;
  name: string;
  category: string;
  menu: readonly MenuItem[];
}

const BRANDS: ReadonlyArray<{ brand: string; category: string; menu: ReadonlyArray<[string, number]> }> = [
  { brand: '황금치킨', category: 'chicken', menu: [['후라이드치킨', 19000], ['양념치킨', 21000], ['반반치킨', 21000], ['치즈볼', 5000], ['콜라 1.25L', 2500]] },
  { brand: '도우앤피자', category: 'pizza', menu: [['페퍼로니 피자', 23900], ['고구마 피자', 25900], ['불고기 피자', 24900], ['갈릭 디핑소스', 500], ['치즈 오븐 스파게티', 8900]] },
  { brand: '엽기떡집', category: 'korean-snack', menu: [['떡볶이', 14000], ['로제 떡볶이', 16000], ['순대', 5000], ['모듬 튀김', 6000], ['주먹김밥', 3000]] },
  { brand: '홍콩반점', category: 'chinese', menu: [['짜장면', 7000], ['짬뽕', 8500], ['탕수육', 17000], ['볶음밥', 8000], ['군만두', 6000]] },
  { brand: '라화마라', category: 'chinese', menu: [['마라탕', 13000], ['마라샹궈', 22000], ['꿔바로우', 15000], ['온면', 9000]] },
  { brand: '장충족발', category: 'korean', menu: [['족발 중', 34000], ['보쌈 중', 32000], ['막국수', 8000], ['반반 족보', 39000]] },
  { brand: '버거스테이션', category: 'burger', menu: [['치즈버거 세트', 9900], ['더블 패티 버거', 11900], ['감자튀김', 3000], ['밀크쉐이크', 4500]] },
  { brand: '스시한조각', category: 'japanese', menu: [['모둠초밥 12p', 18000], ['연어초밥 10p', 17000], ['우동', 8000], ['돈까스', 11000]] },
  { brand: '한솥가득', category: 'korean', menu: [['김치찌개', 9000], ['된장찌개', 9000], ['제육볶음', 10000], ['비빔밥', 9500], ['공기밥', 1000]] },
  { brand: '카페온도', category: 'cafe', menu: [['아이스 아메리카노', 4500], ['카페라떼', 5000], ['버블티', 5500], ['치즈케이크', 6500], ['마카롱', 2800]] },
  { brand: '그린보울', category: 'salad', menu: [['연어 포케', 13900], ['닭가슴살 샐러드', 11900], ['쉬림프 샐러드', 12900], ['콤부차', 4500]] },
  { brand: '포메인하우스', category: 'asian', menu: [['쌀국수', 10000], ['분짜', 13000], ['팟타이', 12000], ['월남쌈', 14000]] },
];

const DISTRICTS = ['강남점', '홍대점', '잠실점', '신촌점', '판교점', '여의도점'] as const;

/** 12 brands × (some) districts: restaurants that take delivery orders. */
export const RESTAURANTS: readonly Restaurant[] = BRANDS.flatMap((b, bi) =>
  DISTRICTS.slice(0, 2 + (bi % 3)).map((district, di) => ({
    storeId: `st-${String(bi * 10 + di + 1).padStart(3, '0')}`,
    name: `${b.brand} ${district}`,
    category: b.category,
    menu: b.menu.map(([name, price], mi) => ({ sku: `m-${bi + 1}-${mi + 1}`, name, price })),
  })),
);

export interface Product {
  sku: string;
  name: string;
  price: number;
}

/** Products sold at the marts' POS terminals; most popular first. */
export const PRODUCTS: readonly Product[] = [
  { sku: 'p-0001', name: '생수 2L', price: 1100 },
  { sku: 'p-0002', name: '바나나우유', price: 1700 },
  { sku: 'p-0003', name: '신라면 5입', price: 4500 },
  { sku: 'p-0004', name: '삼각김밥 참치마요', price: 1300 },
  { sku: 'p-0005', name: '아이스 아메리카노 캔', price: 1800 },
  { sku: 'p-0006', name: '우유 1L', price: 2900 },
  { sku: 'p-0007', name: '계란 10구', price: 4900 },
  { sku: 'p-0008', name: '햇반 3입', price: 3900 },
  { sku: 'p-0009', name: '물티슈 100매', price: 2500 },
  { sku: 'p-0010', name: '콜라 500ml', price: 2000 },
  { sku: 'p-0011', name: '감자칩', price: 1700 },
  { sku: 'p-0012', name: '초코바', price: 1200 },
  { sku: 'p-0013', name: '두부', price: 1800 },
  { sku: 'p-0014', name: '김치 500g', price: 6900 },
  { sku: 'p-0015', name: '맥주 500ml', price: 2800 },
  { sku: 'p-0016', name: '단백질 쉐이크', price: 3500 },
  { sku: 'p-0017', name: '비타민 음료', price: 1500 },
  { sku: 'p-0018', name: '치약', price: 3900 },
  { sku: 'p-0019', name: '휴지 30롤', price: 15900 },
  { sku: 'p-0020', name: '선크림', price: 12900 },
];

export interface Mart {
  storeId: string;
  name: string;
}

export const MARTS: readonly Mart[] = [
  '역삼', '서초', '망원', '성수', '합정', '목동', '노원', '송파', '분당', '일산',
].map((area, i) => ({ storeId: `mart-${String(i + 1).padStart(2, '0')}`, name: `데일리마트 ${area}점` }));

/** Review phrases by rating (index 0 = 1 star). Korean with some English. */
export const REVIEW_PHRASES: readonly (readonly string[])[] = [
  ['음식이 식어서 왔어요', '주문한 것과 다른 메뉴가 왔어요', '배달이 한 시간 넘게 걸렸어요', 'Cold food and very late.', '다시는 안 시킬 거예요'],
  ['양이 너무 적어요', '너무 짜요', '포장이 엉망이었어요', 'Not worth the price.', '기대보다 별로예요'],
  ['그냥 평범해요', '가격 대비 무난해요', '배달은 빨랐는데 맛은 보통', 'It was okay.', '소스가 조금 아쉬워요'],
  ['맛있어요', '배달이 빨랐어요', '양이 넉넉해요', 'Tasty and arrived hot.', '재주문 의사 있어요'],
  ['최고예요! 또 시킬게요', '사장님이 친절하세요', '인생 맛집 인정', 'Best delivery in town!', '따끈하게 잘 왔어요, 감사합니다'],
];

/**
 * Profanity-like words a review clean-bot should flag. Placeholders, not real slurs: the point
 * is a stable list that a filter and its tests can match.
 */
export const FLAGGED_WORDS: readonly string[] = ['개노맛', '존맛탱ㅅㄲ', 'ㅆㅂ', '쓰레기같은', '미친X', 'damn', 'crap', 'wtf'];

export const PLATFORMS = ['ios', 'android', 'web'] as const;
export const PAYMENT_METHODS = ['card', 'kakaopay', 'naverpay', 'tosspay', 'cash'] as const;

/** Where deliveries happen: a box around central Seoul. */
export const SEOUL_BOUNDS = { minLat: 37.47, maxLat: 37.6, minLon: 126.88, maxLon: 127.1 } as const;
